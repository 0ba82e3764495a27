// Package hotspot finds where clues cluster, for 未诉先办 (act before
// complaint). The statistics (bin.go, area.go, gistar.go, countp.go,
// fdr.go, emerging.go, analyze.go) are pure: the caller passes the points
// of the clues it filtered (category, source, township, time window);
// hotspot bins them into H3 cells, computes the Getis-Ord Gi* statistic
// over a study area, cuts it at a false discovery rate, and, week by week,
// tells new and intensifying hot spots from persistent ones. Store
// (store.go) reads those clues and the district's study area from the
// database, and Store.Scan (scan.go) runs the weekly scan that files a
// new hot spot as a clue through a Filer. No HTTP.
//
// # Conventions
//
// Points are lon/lat in degrees on WGS-84 (SRID 4326), in that order
// everywhere; the package turns them into H3's lat/lng in one place
// (cellOf in locate.go). Cells are H3 indexes at resolution 9 by default
// (about 0.1 km²; in 延庆区 0.076 km²): int64(cell) is the bigint the
// database stores, cell.String() the hex form JSON carries. Boundary gives
// a cell's hexagon as a closed, counter-clockwise lon/lat ring (RFC 7946);
// Result.FeatureCollection gives GeoJSON.
//
// # Method
//
//   - Binning (Bin): every clue to its cell, on all cores. H3's own
//     LatLngToCell costs over 2 µs a call here (cgo), so the face
//     projection, the hexagon rounding and the index digits are computed
//     in Go, and h3-go is asked only to teach the base cell's orientation
//     (a few calls per run) and for the rare point within a hair of a cell
//     edge; the cells are exactly h3-go's (locate.go, locate_test.go).
//   - Study area (Area): the cells Gi* runs over. Give it every cell of the
//     district (NewArea) so empty cells count as zeros, or let Analyze use
//     the cells with clues plus their k-ring (AreaAround) when there is no
//     district. Weights are binary: the cell itself and the area's cells
//     within grid distance k (default 1: 7 cells).
//   - Gi* (Area.GiStar): the standard formula with x̄ and S over all n
//     cells of the area (Getis and Ord 1992).
//   - p-values: by default from a count model with Gi*'s null mean
//     (Area.PValues, countp.go), because 1 − Φ(z) is badly
//     anti-conservative for sparse counts; Options.PMethod = PNormal gives
//     the textbook 1 − Φ(z), Φ(z). Hot spots use the upper tail, cold spots
//     the lower tail; CellStat.P is the tail in the direction of Z.
//   - False discovery rate (BenjaminiHochberg): Alpha = 0.05 by default,
//     over all n cells, once for hot spots and once for cold spots.
//   - Emerging hot spots (Emerging): 7-day slices from a start date (ISO
//     weeks when it is a Monday: WeekStart), Gi* and the same FDR cut per
//     slice, the Mann–Kendall test on each cell's slice z-scores, and
//     Esri's eight hot (and eight cold) pattern categories: the cell's
//     Class. (Significance is the other word: hot, cold or neither
//     after the FDR cut, over the whole window or in one slice.)
//
// # Reading the results
//
// A cell on the edge of the study area that is only partly covered by
// where clues were collected (a district-edge cell, or the ring
// AreaAround adds around the data) gets fewer clues than its neighbours
// and may come out cold; read cold spots on the edge with that in mind.
// Hot spots are the product: a new or intensifying hot spot is the cue to
// act before anyone complains.
//
// `whistlegrid bench hotspots` (internal/bench/hotspots.go) times the
// whole Gi* run over a million synthetic clues through this package's API,
// beside the same analysis written for PostGIS as the baseline.
package hotspot
