package index_test

import (
	"errors"
	"fmt"

	"github.com/paulmach/orb"

	"whistlegrid/grid/index"
)

// A clue reported at a street corner is placed in its household grid and
// from there in the village, zone, township and district; the corner lies
// on the edge two household grids share, so the lower code takes it.
func ExampleIndex_Place() {
	square := func(x0, y0 float64) orb.MultiPolygon {
		return orb.MultiPolygon{{{{x0, y0}, {x0 + 0.002, y0}, {x0 + 0.002, y0 + 0.002}, {x0, y0 + 0.002}, {x0, y0}}}}
	}
	ix, err := index.New([]index.Grid{
		{ID: 1, Code: "110119", Name: "延庆区", Level: index.LevelDistrict},
		{ID: 2, Code: "110119101", Name: "儒林街道", Level: index.LevelTownship, ParentID: 1},
		{ID: 3, Code: "110119101P01", Name: "第一片", Level: index.LevelZone, ParentID: 2},
		{ID: 4, Code: "110119101001", Name: "东关村", Level: index.LevelVillage, ParentID: 3},
		{ID: 5, Code: "110119101001001", Name: "王家户", Level: index.LevelHousehold, ParentID: 4, Geom: square(115.970, 40.450)},
		{ID: 6, Code: "110119101001002", Name: "李家户", Level: index.LevelHousehold, ParentID: 4, Geom: square(115.972, 40.450)},
	}, index.Options{NearEdgeM: 30})
	if err != nil {
		panic(err)
	}

	for _, p := range []orb.Point{{115.9725, 40.4510}, {115.972, 40.4510}, {115.980, 40.4510}} {
		pl, err := ix.Place(p)
		if errors.Is(err, index.ErrOutside) {
			fmt.Println(p, "outside:", err)
			continue
		}
		fmt.Printf("%v %s %s %.1f m from the edge, near edge: %v\n", p, pl.Chain[0].Name, pl.Chain[len(pl.Chain)-1].Name, pl.EdgeDistanceM, pl.NearEdge)
	}
	// Output:
	// [115.9725 40.451] 李家户 延庆区 42.4 m from the edge, near edge: false
	// [115.972 40.451] 王家户 延庆区 0.0 m from the edge, near edge: true
	// [115.98 40.451] outside: index: point is in no household grid: (115.98, 40.451) lies outside the extent of all household grids
}

func ExampleIndex_Locate() {
	ix, err := index.New([]index.Grid{
		{ID: 1, Code: "110119", Level: index.LevelDistrict},
		{ID: 2, Code: "110119101", Level: index.LevelTownship, ParentID: 1},
		{ID: 3, Code: "110119101P01", Level: index.LevelZone, ParentID: 2},
		{ID: 4, Code: "110119101001", Level: index.LevelVillage, ParentID: 3},
		{ID: 42, Code: "110119101001001", Level: index.LevelHousehold, ParentID: 4,
			Geom: orb.MultiPolygon{{{{116, 40}, {116.01, 40}, {116.01, 40.01}, {116, 40.01}, {116, 40}}}}},
	}, index.Options{})
	if err != nil {
		panic(err)
	}
	fmt.Println(ix.Locate(orb.Point{116.005, 40.005}))
	fmt.Println(ix.Locate(orb.Point{116.01, 40.01})) // a vertex is covered
	fmt.Println(ix.Locate(orb.Point{116.02, 40.005}))
	// Output:
	// 42 true
	// 42 true
	// 0 false
}
