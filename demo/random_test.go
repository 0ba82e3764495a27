package demo

import (
	"regexp"
	"testing"
	"unicode/utf8"
)

func TestApportion(t *testing.T) {
	tests := []struct {
		name    string
		total   int
		weights []float64
		lo, hi  int
		want    []int
	}{
		{"proportional", 10, []float64{1, 1, 2, 1}, 0, 10, []int{2, 2, 4, 2}},
		{"remainders to the largest share", 10, []float64{1, 1, 1}, 0, 10, []int{4, 3, 3}},
		{"floor", 12, []float64{10, 1, 1}, 3, 20, []int{6, 3, 3}},
		{"ceiling", 12, []float64{10, 1, 1}, 0, 5, []int{5, 4, 3}},
		{"exact bounds", 6, []float64{5, 1}, 3, 3, []int{3, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := apportion(tt.total, tt.weights, tt.lo, tt.hi)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("got %v, want %v", got, tt.want)
				}
			}
		})
	}
	for _, bad := range []struct {
		total   int
		weights []float64
	}{{10, nil}, {100, []float64{1, 1}}, {1, []float64{1, 1}}, {4, []float64{1, 0}}} {
		if _, err := apportion(bad.total, bad.weights, 1, 10); err == nil {
			t.Errorf("apportion(%d, %v): no error", bad.total, bad.weights)
		}
	}
}

func TestPlanCounts(t *testing.T) {
	divs := yanqingDivisions(t)
	_, _, vills, err := planDivisions(divs, DefaultSeed)
	if err != nil {
		t.Fatal(err)
	}
	if err := planGridCounts(vills, DefaultSeed); err != nil {
		t.Fatal(err)
	}
	grids, community, mountain := 0, 0.0, 0.0
	nc, nm := 0, 0
	for _, v := range vills {
		grids += v.grids
		switch {
		case v.kind == "community":
			community += float64(v.grids)
			nc++
		case v.mountain:
			mountain += float64(v.grids)
			nm++
		}
	}
	if grids != totalHouseholdGrids {
		t.Errorf("household grids = %d, want %d", grids, totalHouseholdGrids)
	}
	if community/float64(nc) <= mountain/float64(nm) {
		t.Errorf("communities get %.1f grids each, mountain villages %.1f: want more in communities", community/float64(nc), mountain/float64(nm))
	}
	hh, err := planHouseholdCounts(vills, DefaultSeed)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, v := range hh {
		for _, n := range v {
			total += n
		}
	}
	if total != totalHouseholds {
		t.Errorf("households = %d, want %d", total, totalHouseholds)
	}
}

func TestPeopleAndPhones(t *testing.T) {
	r := stream(1, "test")
	mobile := regexp.MustCompile(`^1[3-9][0-9]{9}$`)
	for range 1000 {
		if n := personName(r); utf8.RuneCountInString(n) != 3 {
			t.Fatalf("name %q: want a surname and a two-character given name", n)
		}
		if p := mobilePhone(r); !mobile.MatchString(p) {
			t.Fatalf("mobile %q", p)
		}
		if s := householdSize(r); s < 1 || s > 6 {
			t.Fatalf("household size %d", s)
		}
	}
	a, b := stream(7, "x"), stream(7, "x")
	for range 10 {
		if personName(a) != personName(b) {
			t.Fatal("the same stream gave different names")
		}
	}
	if s := pgSeed(1, "a"); s <= 0 || s == pgSeed(2, "a") || s == pgSeed(1, "b") {
		t.Error("pgSeed must be positive and depend on the seed and the label")
	}
}

func TestChineseNumber(t *testing.T) {
	for n, want := range map[int]string{1: "一", 9: "九", 10: "十", 11: "十一", 20: "二十", 23: "二十三", 99: "九十九"} {
		if got := chineseNumber(n); got != want {
			t.Errorf("chineseNumber(%d) = %q, want %q", n, got, want)
		}
	}
}
