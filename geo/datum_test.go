package geo

import (
	"bufio"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paulmach/orb"
	orbgeo "github.com/paulmach/orb/geo"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// refTol is the tolerance, in degrees, against published reference values:
// 1e-10 degrees is about 0.01 mm, and leaves room for the last-bit
// differences between languages' libm sin/cos.
const refTol = 1e-10

func TestParseDatum(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Datum
		wantErr bool
	}{
		{"empty means wgs84", "", WGS84, false},
		{"wgs84", "wgs84", WGS84, false},
		{"gcj02", "gcj02", GCJ02, false},
		{"bd09", "bd09", BD09, false},
		{"upper case and dash", " GCJ-02 ", GCJ02, false},
		{"bd-09", "BD-09", BD09, false},
		{"unknown", "cgcs2000", "", true},
		{"typo", "wgs48", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseDatum(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseDatum(%q) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("ParseDatum(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if err != nil {
				for _, allowed := range []string{"geo:", "wgs84", "gcj02", "bd09"} {
					if !strings.Contains(err.Error(), allowed) {
						t.Errorf("error %q does not mention %q", err, allowed)
					}
				}
			}
		})
	}
}

func TestForwardReferencePairs(t *testing.T) {
	tests := []struct {
		name   string
		source string // where the pair is published
		fn     func(orb.Point) orb.Point
		in     orb.Point
		want   orb.Point
	}{
		// wandergis/coordtransform, test/app.js ("//result" block).
		{"wgs84 to gcj02 tiananmen", "wandergis/coordtransform test/app.js",
			WGS84ToGCJ02, orb.Point{116.404, 39.915}, orb.Point{116.41024449916938, 39.91640428150164}},
		{"gcj02 to bd09 tiananmen", "wandergis/coordtransform test/app.js",
			GCJ02ToBD09, orb.Point{116.404, 39.915}, orb.Point{116.41036949371029, 39.92133699351021}},
		{"bd09 to gcj02 tiananmen, published single pass", "wandergis/coordtransform test/app.js",
			bd09ToGCJ02Published, orb.Point{116.404, 39.915}, orb.Point{116.39762729119315, 39.90865673957631}},
		// athxx/coordtransform-rs, src/lib.rs, test_wgs84_to_bd09.
		{"wgs84 to bd09 tiananmen", "athxx/coordtransform-rs src/lib.rs",
			WGS84ToBD09, orb.Point{116.404, 39.915}, orb.Point{116.41662724378733, 39.922699552216216}},
		// googollee/eviltransform, go/transform_test.go (pairs given there as lat, lng).
		{"wgs84 to gcj02 shanghai", "googollee/eviltransform go/transform_test.go",
			WGS84ToGCJ02, orb.Point{121.5272106, 31.1774276}, orb.Point{121.531541859215, 31.17530398364597}},
		{"wgs84 to gcj02 shenzhen", "googollee/eviltransform go/transform_test.go",
			WGS84ToGCJ02, orb.Point{113.912316, 22.543847}, orb.Point{113.9171764808363, 22.540796131694766}},
		{"wgs84 to gcj02 beijing", "googollee/eviltransform go/transform_test.go",
			WGS84ToGCJ02, orb.Point{116.377817, 39.911954}, orb.Point{116.38404722455657, 39.91334545536069}},
		// Out of China GCJ-02 is the identity (every implementation's out_of_china test).
		{"wgs84 to gcj02 null island", "out-of-China rule",
			WGS84ToGCJ02, orb.Point{0, 0}, orb.Point{0, 0}},
		{"wgs84 to gcj02 tokyo", "out-of-China rule",
			WGS84ToGCJ02, orb.Point{139.6917, 35.6895}, orb.Point{139.6917, 35.6895}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.fn(tt.in)
			if math.Abs(got[0]-tt.want[0]) > refTol || math.Abs(got[1]-tt.want[1]) > refTol {
				t.Errorf("%v -> %v, want %v (%s)", tt.in, got, tt.want, tt.source)
			}
		})
	}
}

func TestInverseReferencePairs(t *testing.T) {
	// The same published pairs, read backwards: the inverse must land within
	// 1 cm of the published WGS-84 point (eviltransform's own exact inverse
	// promises 0.5 m).
	tests := []struct {
		name   string
		fn     func(orb.Point) orb.Point
		in     orb.Point
		wantPt orb.Point
	}{
		{"gcj02 to wgs84 tiananmen", GCJ02ToWGS84, orb.Point{116.41024449916938, 39.91640428150164}, orb.Point{116.404, 39.915}},
		{"gcj02 to wgs84 shanghai", GCJ02ToWGS84, orb.Point{121.531541859215, 31.17530398364597}, orb.Point{121.5272106, 31.1774276}},
		{"gcj02 to wgs84 shenzhen", GCJ02ToWGS84, orb.Point{113.9171764808363, 22.540796131694766}, orb.Point{113.912316, 22.543847}},
		{"gcj02 to wgs84 beijing", GCJ02ToWGS84, orb.Point{116.38404722455657, 39.91334545536069}, orb.Point{116.377817, 39.911954}},
		{"bd09 to wgs84 tiananmen", BD09ToWGS84, orb.Point{116.41662724378733, 39.922699552216216}, orb.Point{116.404, 39.915}},
		{"bd09 to gcj02 tiananmen", BD09ToGCJ02, orb.Point{116.41036949371029, 39.92133699351021}, orb.Point{116.404, 39.915}},
		{"gcj02 out of china", GCJ02ToWGS84, orb.Point{-0.1276, 51.5072}, orb.Point{-0.1276, 51.5072}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.fn(tt.in)
			if d := orbgeo.Distance(got, tt.wantPt); d > 0.01 {
				t.Errorf("%v -> %v, %.4f m from %v, want within 0.01 m", tt.in, got, d, tt.wantPt)
			}
		})
	}
}

func TestBD09ToGCJ02RefinesPublishedInverse(t *testing.T) {
	// Baidu's single-pass inverse misses its own forward transform by
	// centimetres; the refined one stays within 0.2 m of it and lands within
	// 1e-9 degrees when sent forward again.
	worstPublished := 0.0
	for _, w := range beijingPoints(2000) {
		bd := WGS84ToBD09(w)
		pub, got := bd09ToGCJ02Published(bd), BD09ToGCJ02(bd)
		if d := orbgeo.Distance(pub, got); d > 0.2 {
			t.Fatalf("BD09ToGCJ02(%v) = %v, %.3f m from the published %v", bd, got, d, pub)
		}
		f := GCJ02ToBD09(got)
		if math.Abs(f[0]-bd[0]) > gcjInverseTol || math.Abs(f[1]-bd[1]) > gcjInverseTol {
			t.Fatalf("GCJ02ToBD09(BD09ToGCJ02(%v)) = %v", bd, f)
		}
		if d := orbgeo.Distance(GCJ02ToBD09(pub), bd); d > worstPublished {
			worstPublished = d
		}
	}
	t.Logf("worst miss of the published single pass: %.3f m", worstPublished)
}

// beijingPoints returns n pseudo-random WGS-84 points over Beijing
// municipality's bounding box, seeded so failures repeat.
func beijingPoints(n int) []orb.Point {
	r := rand.New(rand.NewPCG(2024, 110000))
	pts := make([]orb.Point, n)
	for i := range pts {
		pts[i] = orb.Point{115.42 + r.Float64()*(117.51-115.42), 39.44 + r.Float64()*(41.06-39.44)}
	}
	return pts
}

func TestRoundTripWithin1cm(t *testing.T) {
	pts := beijingPoints(20000)
	tests := []struct {
		name string
		d    Datum
	}{
		{"gcj02", GCJ02},
		{"bd09", BD09},
		{"wgs84", WGS84},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			worst := 0.0
			for _, p := range pts {
				q := FromWGS84(p, tt.d)
				back := ToWGS84(q, tt.d)
				d := orbgeo.Distance(p, back)
				if d > worst {
					worst = d
				}
				if d > 0.01 {
					t.Fatalf("%v -> %v -> %v: %.4f m apart, want <= 0.01 m", p, q, back, d)
				}
				if tt.d != WGS84 && orbgeo.Distance(p, q) < 1 {
					t.Fatalf("%v -> %v: the %s offset should move a Beijing point by hundreds of metres", p, q, tt.d)
				}
			}
			t.Logf("worst round trip over %d points: %.6f m", len(pts), worst)
		})
	}
}

func TestGCJ02InverseTolerance(t *testing.T) {
	// The iteration stops when the forward transform is within 1e-9 degrees.
	for _, p := range beijingPoints(2000) {
		g := WGS84ToGCJ02(p)
		w := GCJ02ToWGS84(g)
		f := WGS84ToGCJ02(w)
		if math.Abs(f[0]-g[0]) > gcjInverseTol || math.Abs(f[1]-g[1]) > gcjInverseTol {
			t.Fatalf("GCJ02ToWGS84(%v) = %v whose forward transform %v misses by more than %g degrees", g, w, f, gcjInverseTol)
		}
	}
}

func TestOutOfChina(t *testing.T) {
	tests := []struct {
		name string
		p    orb.Point
		want bool
	}{
		{"beijing", orb.Point{116.4, 39.9}, false},
		{"urumqi", orb.Point{87.6, 43.8}, false},
		{"london", orb.Point{-0.13, 51.5}, true},
		{"tokyo", orb.Point{139.69, 35.69}, true},
		{"south of the box", orb.Point{110, 0.5}, true},
		{"north of the box", orb.Point{120, 56}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := OutOfChina(tt.p); got != tt.want {
				t.Errorf("OutOfChina(%v) = %v, want %v", tt.p, got, tt.want)
			}
		})
	}
}

func TestToFromWGS84Dispatch(t *testing.T) {
	p := orb.Point{116.0, 40.45} // 延庆
	tests := []struct {
		name     string
		d        Datum
		from, to func(orb.Point) orb.Point
	}{
		{"wgs84", WGS84, func(p orb.Point) orb.Point { return p }, func(p orb.Point) orb.Point { return p }},
		{"gcj02", GCJ02, WGS84ToGCJ02, GCJ02ToWGS84},
		{"bd09", BD09, WGS84ToBD09, BD09ToWGS84},
		{"undeclared datum is the identity", Datum("cgcs2000"), func(p orb.Point) orb.Point { return p }, func(p orb.Point) orb.Point { return p }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, want := FromWGS84(p, tt.d), tt.from(p); got != want {
				t.Errorf("FromWGS84(%v, %q) = %v, want %v", p, tt.d, got, want)
			}
			if got, want := ToWGS84(p, tt.d), tt.to(p); got != want {
				t.Errorf("ToWGS84(%v, %q) = %v, want %v", p, tt.d, got, want)
			}
		})
	}
}

// TestGolden pins the transforms of testdata/datum_in.txt (one "lon lat" per
// line, WGS-84) to testdata/datum_out.golden. Run with -update to rewrite.
func TestGolden(t *testing.T) {
	in, err := os.Open(filepath.Join("testdata", "datum_in.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	var b strings.Builder
	fmt.Fprintf(&b, "# wgs84 lon lat | gcj02 lon lat | bd09 lon lat | gcj02->wgs84 lon lat, 1e-9 degrees\n")
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		var p orb.Point
		if _, err := fmt.Sscan(line, &p[0], &p[1]); err != nil {
			t.Fatalf("bad line %q: %v", line, err)
		}
		g, bd := WGS84ToGCJ02(p), WGS84ToBD09(p)
		w := GCJ02ToWGS84(g)
		fmt.Fprintf(&b, "%.9f %.9f | %.9f %.9f | %.9f %.9f | %.9f %.9f\n", p[0], p[1], g[0], g[1], bd[0], bd[1], w[0], w[1])
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "datum_out.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got := b.String(); got != string(want) {
		t.Errorf("transforms differ from %s (run go test -update to accept):\ngot:\n%s\nwant:\n%s", golden, got, want)
	}
}
