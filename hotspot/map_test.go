package hotspot

import (
	"errors"
	"slices"
	"testing"
	"time"

	"whistlegrid/fault"

	"github.com/paulmach/orb"
	"github.com/uber/h3-go/v4"
)

func TestMapQueryFill(t *testing.T) {
	now := time.Date(2026, 11, 25, 9, 30, 0, 0, time.UTC)
	sep1 := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		in       MapQuery
		from, to time.Time
		field    string // the field of the ErrInvalid; "" for none
	}{
		{"defaults: twelve weeks up to now", MapQuery{}, now.AddDate(0, 0, -84), now, ""},
		{"weeks of days", MapQuery{Query: Query{Days: 3}, Weeks: 4}, now.AddDate(0, 0, -12), now, ""},
		{"weeks before to", MapQuery{Query: Query{To: sep1}, Weeks: 2}, sep1.AddDate(0, 0, -14), sep1, ""},
		{"from given", MapQuery{Query: Query{From: sep1}}, sep1, now, ""},
		{"from and weeks", MapQuery{Query: Query{From: sep1}, Weeks: 3}, time.Time{}, time.Time{}, "weeks"},
		{"one week", MapQuery{Weeks: 1}, time.Time{}, time.Time{}, "weeks"},
		{"too many weeks", MapQuery{Weeks: MaxSlices + 1}, time.Time{}, time.Time{}, "weeks"},
		{"a significance is no class", MapQuery{Classes: []Class{"hot"}}, time.Time{}, time.Time{}, "class"},
		{"known classes", MapQuery{Classes: []Class{NewHotSpot, HistoricalColdSpot}}, now.AddDate(0, 0, -84), now, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := tt.in
			err := q.fill(now)
			if tt.field != "" {
				var fe *fault.Error
				if !errors.As(err, &fe) || fe.Field != tt.field || !errors.Is(err, ErrInvalid) || fe.Message == "" {
					t.Fatalf("err %v, want ErrInvalid on %s", err, tt.field)
				}
				return
			}
			if err != nil || !q.From.Equal(tt.from) || !q.To.Equal(tt.to) {
				t.Errorf("window %v to %v, err %v; want %v to %v", q.From, q.To, err, tt.from, tt.to)
			}
		})
	}
}

func TestMapQueryKeep(t *testing.T) {
	cell := func(class Class, sig Significance, count int) CellTrend {
		return CellTrend{CellStat: CellStat{Count: count, Significance: sig}, Class: class}
	}
	cells := []CellTrend{
		cell(NewHotSpot, Hot, 9),
		cell(ClassNone, Hot, 5),
		cell(SporadicColdSpot, NotSignificant, 0),
		cell(ClassNone, NotSignificant, 2),
		cell(ClassNone, NotSignificant, 0),
	}
	tests := []struct {
		name string
		q    MapQuery
		want []int // indexes of cells kept
	}{
		{"default: a class or significant", MapQuery{}, []int{0, 1, 2}},
		{"all: and every cell with clues", MapQuery{All: true}, []int{0, 1, 2, 3}},
		{"classes only", MapQuery{Classes: []Class{NewHotSpot, SporadicColdSpot}}, []int{0, 2}},
		{"classes ignore all", MapQuery{Classes: []Class{NewHotSpot}, All: true}, []int{0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []int
			for i, c := range cells {
				if tt.q.keep(c) {
					got = append(got, i)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("kept %v, want %v", got, tt.want)
			}
		})
	}
}

// TestCellTrendFeature holds the properties of the API's hexagons: the
// emerging class under class, hot/cold under significance.
func TestCellTrendFeature(t *testing.T) {
	ct := CellTrend{
		CellStat: CellStat{Cell: yanqing, Count: 12, Z: 3.14159, P: 0.0004, Significance: Hot},
		Class:    IntensifyingHotSpot,
		Trend:    MannKendallResult{Z: 2.71828, P: 0.006},
		SliceSig: []int8{0, 1, -1, 1, 1},
	}
	f := ct.Feature()
	want := map[string]any{
		"cell": yanqing.String(), "count": 12, "z": 3.142, "p": 0.0004, "significance": "hot",
		"class": "intensifying_hot_spot", "trend_z": 2.718, "trend_p": 0.006, "weeks_hot": 3,
	}
	if f.ID != yanqing.String() || len(f.Properties) != len(want) {
		t.Fatalf("id %v, properties %v; want id %s and %d properties", f.ID, f.Properties, yanqing, len(want))
	}
	for k, v := range want {
		if f.Properties[k] != v {
			t.Errorf("%s = %v (%T), want %v (%T)", k, f.Properties[k], f.Properties[k], v, v)
		}
	}
	g := h3.CellToLatLng(yanqing)
	if b := f.Geometry.Bound(); !b.Contains(orb.Point{g.Lng, g.Lat}) {
		t.Errorf("the hexagon's bound %v misses its cell's centre", b)
	}
}
