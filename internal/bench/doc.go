// Package bench holds the benchmark harnesses of whistlegrid: programs
// that drive the real packages through their exported API, on real data
// in a real PostGIS, and measure them beside a baseline run in the same
// process and the same minute (PostGIS doing the same work, or the same
// work at a smaller size). They live here rather than in the packages
// they measure, as river's cmd/river/riverbench and tile38's
// cmd/tile38-benchmark do, so that no production package carries a
// harness, its synthetic data or its baseline SQL.
//
// cmd/whistlegrid's `bench NAME` subcommands are the wiring: they parse
// the flags, prepare the databases in the private cluster and print the
// tables and the --json line; the measuring is here:
//
//   - Place (place.go): `bench place`, the placement index against
//     PostGIS ST_Covers per point and set-based, and the index held to
//     PostGIS on every verified point (grid.Verify);
//   - MemoryLatency (memory.go): the machine's read latency by working
//     set, printed beside `bench place` to show where its caches end;
//   - Hotspots and HotspotsSQL (hotspots.go): `bench hotspots`, Gi* end
//     to end over a million synthetic clues, and the same statistic in
//     PostGIS SQL.
//
// The package's Go benchmarks and tests run the same harnesses small, so
// that they keep working.
package bench
