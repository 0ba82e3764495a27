package hotspot

import (
	"math"

	"github.com/uber/h3-go/v4"
)

// This file finds the H3 cell of a point without a cgo call for nearly
// every point. h3-go's LatLngToCell costs 1.3 µs of C plus the cgo
// crossing (2.3 µs a call on the 2-core benchmark machine), which alone
// would spend the whole budget of a million-clue run. H3 locates a point
// in two steps: it projects the point onto the nearest icosahedron face (a
// gnomonic projection scaled to the resolution) and rounds the projected
// point to the face's hexagonal lattice; then it turns the face and
// lattice coordinates into the 64-bit index. The first step is ported
// below (locator.key) with H3 4.1's constants and its formulas, the
// trigonometry rearranged to need two Sincos calls (faceijk.c, coordijk.c,
// latLng.c; Apache-2.0, Uber Technologies); its answer, the face and the
// lattice coordinates, is a key. The second step is resolveKeys, further
// down: most of it is ported too, and what is not is learnt from a few
// h3-go answers per run.
//
// Go's math library and the C library may differ in the last bits, so the
// port does not trust a rounding that is within a tolerance of a decision
// boundary (a cell edge, a face edge, a face centre): it says so and the
// caller asks h3-go for that point itself. The tolerance is far above any
// last-bit difference, so a key is only used where H3 cannot round the
// other way; locate_test.go holds the two equal point by point, worldwide,
// around every pentagon, and on vertices and edges of cells.

// H3 4.1 constants (h3/constants.h, faceijk.c).
const (
	h3Sin60       = 0.8660254037844386467637231707529361834714
	h3Ap7RotRads  = 0.333473172251832115336090755351601070065900389
	h3Res0UGnomon = 0.38196601125010500003
	h3Sqrt7       = 2.6457513110645905905016157536392604257102
)

// faceCenterGeo holds the icosahedron face centres as lat/lng in radians,
// faceCenterPoint the same on the unit sphere, and faceAxisAz0 the azimuth
// in radians from each face centre to its vertex 0 (Class II i-axis); all
// copied from H3 4.1 faceijk.c.
var faceCenterGeo = [20][2]float64{
	{0.803582649718989942, 1.248397419617396099},
	{1.307747883455638156, 2.536945009877921159},
	{1.054751253523952054, -1.347517358900396623},
	{0.600191595538186799, -0.450603909469755746},
	{0.491715428198773866, 0.401988202911306943},
	{0.172745327415618701, 1.678146885280433686},
	{0.605929321571350690, 2.953923329812411617},
	{0.427370518328979641, -1.888876200336285401},
	{-0.079066118549212831, -0.733429513380867741},
	{-0.230961644455383637, 0.506495587332349035},
	{0.079066118549212831, 2.408163140208925497},
	{0.230961644455383637, -2.635097066257444203},
	{-0.172745327415618701, -1.463445768309359553},
	{-0.605929321571350690, -0.187669323777381622},
	{-0.427370518328979641, 1.252716453253507838},
	{-0.600191595538186799, 2.690988744120037492},
	{-0.491715428198773866, -2.739604450678486295},
	{-0.803582649718989942, -1.893195233972397139},
	{-1.307747883455638156, -0.604647643711872080},
	{-1.054751253523952054, 1.794075294689396615},
}

var faceCenterPoint = [20][3]float64{
	{0.2199307791404606, 0.6583691780274996, 0.7198475378926182},
	{-0.2139234834501421, 0.1478171829550703, 0.9656017935214205},
	{0.1092625278784797, -0.4811951572873210, 0.8697775121287253},
	{0.7428567301586791, -0.3593941678278028, 0.5648005936517033},
	{0.8112534709140969, 0.3448953237639384, 0.4721387736413930},
	{-0.1055498149613921, 0.9794457296411413, 0.1718874610009365},
	{-0.8075407579970092, 0.1533552485898818, 0.5695261994882688},
	{-0.2846148069787907, -0.8644080972654206, 0.4144792552473539},
	{0.7405621473854482, -0.6673299564565524, -0.0789837646326737},
	{0.8512303986474293, 0.4722343788582681, -0.2289137388687808},
	{-0.7405621473854481, 0.6673299564565524, 0.0789837646326737},
	{-0.8512303986474292, -0.4722343788582682, 0.2289137388687808},
	{0.1055498149613919, -0.9794457296411413, -0.1718874610009365},
	{0.8075407579970092, -0.1533552485898819, -0.5695261994882688},
	{0.2846148069787908, 0.8644080972654204, -0.4144792552473539},
	{-0.7428567301586791, 0.3593941678278027, -0.5648005936517033},
	{-0.8112534709140971, -0.3448953237639382, -0.4721387736413930},
	{-0.2199307791404607, -0.6583691780274996, -0.7198475378926182},
	{0.2139234834501420, -0.1478171829550704, -0.9656017935214205},
	{-0.1092625278784796, 0.4811951572873210, -0.8697775121287253},
}

var faceAxisAz0 = [20]float64{
	5.619958268523939882, 5.760339081714187279, 0.780213654393430055,
	0.430469363979999913, 6.130269123335111400, 2.692877706530642877,
	2.982963003477243874, 3.532912002790141181, 3.494305004259568154,
	3.003214169499538391, 5.930472956509811562, 0.138378484090254847,
	0.448714947059150361, 0.158629650112549365, 5.891865957979238535,
	2.711123289609793325, 3.294508837434268316, 3.804819692245439833,
	3.664438879055192436, 2.361378999196363184,
}

// faceTrig caches, per face, the sin and cos of the centre's latitude and
// longitude and of the Class II and Class III lattice axis angles.
type faceTrigs struct {
	sinLat, cosLat, sinLng, cosLng float64
	sinAx, cosAx                   [2]float64 // [0] Class II, [1] Class III
}

var faceTrig = func() (ft [20]faceTrigs) {
	for f, g := range faceCenterGeo {
		t := &ft[f]
		t.sinLat, t.cosLat = math.Sincos(g[0])
		t.sinLng, t.cosLng = math.Sincos(g[1])
		t.sinAx[0], t.cosAx[0] = math.Sincos(faceAxisAz0[f])
		t.sinAx[1], t.cosAx[1] = math.Sincos(faceAxisAz0[f] - h3Ap7RotRads)
	}
	return ft
}()

// Key layout: bit 63 set marks a lattice key (an H3 index always has bit
// 63 clear, so a resolved cell can share the key space); bits 56..60 the
// face; bits 28..55 and 0..27 the lattice i and j as 28-bit two's
// complement.
const (
	latticeFlag  = uint64(1) << 63
	latticeBits  = 28
	latticeMask  = uint64(1)<<latticeBits - 1
	latticeLimit = 1<<(latticeBits-1) - 1
)

// Tolerances, see the comment at the top of the file. faceTieTol is in
// squared chord length; the edge tolerance is relative to the distance
// from the face centre in lattice units and grows near a face centre,
// where acos(1 - sqd/2) magnifies a one-ulp difference in sqd.
const (
	faceTieTol  = 1e-12
	edgeRelTol  = 1e-11
	centreTol   = 1e-14
	minFaceDist = 1e-20
)

// locator projects points to H3 lattice keys at one resolution.
type locator struct {
	res   int
	class int     // 0 for Class II (even) resolutions, 1 for Class III
	scale float64 // lattice units per unit of gnomonic distance
}

func newLocator(res int) locator {
	scale := 1 / h3Res0UGnomon
	for range res {
		scale *= h3Sqrt7
	}
	return locator{res: res, class: res % 2, scale: scale}
}

// key returns the lattice key of the point at lon, lat (degrees, WGS-84),
// or ok == false when the point is too close to a boundary for the port to
// be sure, in which case the caller must ask h3-go.
func (l locator) key(lon, lat float64) (key uint64, ok bool) {
	// Same conversion as h3-go's LatLng.toCPtr.
	latR := h3.DegsToRads * lat
	lngR := h3.DegsToRads * lon

	// _geoToVec3d and _geoToClosestFace.
	sinLat, cosLat := math.Sincos(latR)
	sinLng, cosLng := math.Sincos(lngR)
	vx, vy, vz := cosLng*cosLat, sinLng*cosLat, sinLat
	face, sqd, second := 0, 5.0, 5.0
	for f := range faceCenterPoint {
		c := &faceCenterPoint[f]
		dx, dy, dz := c[0]-vx, c[1]-vy, c[2]-vz
		d := dx*dx + dy*dy + dz*dz
		if d < sqd {
			face, second, sqd = f, sqd, d
		} else if d < second {
			second = d
		}
	}
	if second-sqd < faceTieTol || sqd < minFaceDist {
		return 0, false
	}

	// _geoToHex2d, with the trigonometry rewritten so that only the two
	// Sincos calls above remain; the results agree with H3's acos, atan2,
	// tan, cos and sin to far within the tolerance.
	//
	// H3: r = acos(1 − sqd/2), then tan(r). With c = cos r = 1 − sqd/2,
	// sin²r = (1 − c)(1 + c) = sqd/2 · (2 − sqd/2), free of cancellation.
	half := sqd / 2
	c := 1 - half
	if c <= 0 {
		return 0, false
	}
	r := math.Sqrt(half*(2-half)) / c * l.scale
	// H3: θ = az_axis − az, az = atan2(Y, X) the azimuth from the face
	// centre, then x = r cos θ, y = r sin θ. Expanding the difference:
	// cos θ = (cos az_axis·X + sin az_axis·Y)/h, sin θ = (sin az_axis·X −
	// cos az_axis·Y)/h with h = √(X² + Y²); sin and cos of the longitude
	// difference are expanded the same way.
	ft := &faceTrig[face]
	sinDl := sinLng*ft.cosLng - cosLng*ft.sinLng
	cosDl := cosLng*ft.cosLng + sinLng*ft.sinLng
	ay := cosLat * sinDl
	ax := ft.cosLat*sinLat - ft.sinLat*cosLat*cosDl
	h := math.Sqrt(ax*ax + ay*ay)
	if h < 1e-300 {
		return 0, false
	}
	sa, ca := ft.sinAx[l.class], ft.cosAx[l.class]
	x := r * (ca*ax + sa*ay) / h
	y := r * (sa*ax - ca*ay) / h
	tol := (edgeRelTol + centreTol/sqd) * (1 + r)

	// _hex2dToCoordIJK, keeping the smallest distance to any threshold.
	a1, a2 := math.Abs(x), math.Abs(y)
	x2 := a2 * (1 / h3Sin60)
	x1 := a1 + x2/2
	if x1 >= latticeLimit || x2 >= latticeLimit {
		return 0, false
	}
	m1, m2 := int(x1), int(x2)
	r1, r2 := x1-float64(m1), x2-float64(m2)
	if a1 < tol || a2 < tol || r1 < tol || 1-r1 < tol || r2 < tol || 1-r2 < tol ||
		near(r1-0.5, tol) || near(r1-1.0/3, tol) || near(r1-2.0/3, tol) ||
		near(r2-(1+r1)/2, tol) || near(r2-(1-r1), tol) || near(r2-2*r1, tol) ||
		near(r2-(2*r1-1), tol) || near(r2-r1/2, tol) {
		return 0, false
	}
	var i, j int
	if r1 < 0.5 {
		if r1 < 1.0/3 {
			i = m1
			if r2 < (1+r1)/2 {
				j = m2
			} else {
				j = m2 + 1
			}
		} else {
			if r2 < 1-r1 {
				j = m2
			} else {
				j = m2 + 1
			}
			if 1-r1 <= r2 && r2 < 2*r1 {
				i = m1 + 1
			} else {
				i = m1
			}
		}
	} else {
		if r1 < 2.0/3 {
			if r2 < 1-r1 {
				j = m2
			} else {
				j = m2 + 1
			}
			if 2*r1-1 < r2 && r2 < 1-r1 {
				i = m1
			} else {
				i = m1 + 1
			}
		} else {
			i = m1 + 1
			if r2 < r1/2 {
				j = m2
			} else {
				j = m2 + 1
			}
		}
	}
	// Fold across the axes. With k = 0, (i, j) is already the canonical
	// axial form of the lattice point H3 normalises to ijk.
	if x < 0 {
		i = j - i
	}
	if y < 0 {
		i -= j
		j = -j
	}
	return latticeFlag | uint64(face)<<(2*latticeBits) |
		(uint64(i)&latticeMask)<<latticeBits | uint64(j)&latticeMask, true
}

// near reports whether |v| < tol.
func near(v, tol float64) bool { return v < tol && v > -tol }

// isLatticeKey reports whether k is a lattice key rather than an H3 index.
func isLatticeKey(k uint64) bool { return k&latticeFlag != 0 }

// cellOf asks h3-go for the cell of one point (lon, lat in degrees); the
// one place in the package that turns lon/lat into H3's lat/lng order.
func cellOf(lon, lat float64, res int) h3.Cell {
	return h3.LatLngToCell(h3.NewLatLng(lat, lon), res)
}

// From lattice keys to H3 indexes. H3 builds an index from the face and
// lattice coordinates by walking up the aperture-7 hierarchy: at each
// resolution the offset from the parent's centre child is one digit; what
// is left at resolution 0 names the base cell, whose orientation on the
// face turns the digits by some 60° steps, with extra rules where the base
// cell is a pentagon (h3Index.c, _faceIjkToH3). The walk and the turns are
// plain integer arithmetic and are ported below. Which base cell and how
// many turns (and, for a pentagon, which way its missing sub-sequence is
// skipped) is the same for every key that ends at the same resolution-0
// position on the same face; rather than copy H3's tables, resolveKeys
// learns it from h3-go's answers for a few keys there, keeping every
// candidate consistent with all answers so far, and computes a key's index
// itself only when every candidate left gives the same index. 延庆区 lies
// in pentagon base cell 24, so the pentagon rules are the common case.

// digitWalk returns the unturned digits of a lattice key (d[r] for
// resolution r = 1..res) and its resolution-0 position (face·27 + i·9 +
// j·3 + k), or ok == false when the position is off the face's base cell
// grid.
func (l locator) digitWalk(key uint64, d *digits) (pos int, ok bool) {
	face := int(key>>(2*latticeBits)) & 31
	i := signExtend(key >> latticeBits)
	j := signExtend(key)
	k := 0
	i, j, k = ijkNormalize(i, j, k)
	for r := l.res - 1; r >= 0; r-- {
		li, lj, lk := i, j, k
		var ci, cj, ck int
		if (r+1)%2 == 1 { // Class III: counter-clockwise aperture 7
			i, j, k = upAp7(i, j, k)
			ci, cj, ck = 3*i+j, 3*j+k, i+3*k // downAp7: i(3,0,1) + j(1,3,0) + k(0,1,3)
		} else {
			i, j, k = upAp7r(i, j, k)
			ci, cj, ck = 3*i+k, i+3*j, j+3*k // downAp7r: i(3,1,0) + j(0,3,1) + k(1,0,3)
		}
		di, dj, dk := ijkNormalize(li-ci, lj-cj, lk-ck)
		if di > 1 || dj > 1 || dk > 1 {
			return 0, false
		}
		d[r+1] = uint8(4*di + 2*dj + dk)
	}
	if i > 2 || j > 2 || k > 2 {
		return 0, false
	}
	return face*27 + i*9 + j*3 + k, true
}

func signExtend(v uint64) int {
	x := int64(v&latticeMask) << (64 - latticeBits)
	return int(x >> (64 - latticeBits))
}

func ijkNormalize(i, j, k int) (int, int, int) {
	if i < 0 {
		j -= i
		k -= i
		i = 0
	}
	if j < 0 {
		i -= j
		k -= j
		j = 0
	}
	if k < 0 {
		i -= k
		j -= k
		k = 0
	}
	m := min(i, j, k)
	return i - m, j - m, k - m
}

// roundDiv7 is lround(a / 7.0); a/7 is never halfway between integers.
func roundDiv7(a int) int { return int(math.Round(float64(a) / 7)) }

func upAp7(i, j, k int) (int, int, int) {
	i, j = i-k, j-k
	return ijkNormalize(roundDiv7(3*i-j), roundDiv7(i+2*j), 0)
}

func upAp7r(i, j, k int) (int, int, int) {
	i, j = i-k, j-k
	return ijkNormalize(roundDiv7(2*i+j), roundDiv7(3*j-i), 0)
}

// rot60ccw and rot60cw turn a digit 60° (coordijk.c _rotate60ccw,
// _rotate60cw): K→IK→I→IJ→J→JK→K counter-clockwise, centre fixed.
var (
	rot60ccw = [7]uint8{0, 5, 3, 1, 6, 4, 2}
	rot60cw  = [7]uint8{0, 3, 6, 2, 5, 1, 4}
)

// pentagonBaseCell marks the 12 pentagon base cells, from h3-go.
var pentagonBaseCell = func() (p [122]bool) {
	for _, c := range h3.Res0Cells() {
		if c.IsPentagon() {
			p[c.BaseCellNumber()] = true
		}
	}
	return p
}()

// digits holds an index's digits for resolutions 1..15 (element 0 unused).
type digits [16]uint8

func (d *digits) turnAll(table *[7]uint8, res int) {
	for r := 1; r <= res; r++ {
		d[r] = table[d[r]]
	}
}

func (d *digits) leading(res int) uint8 {
	for r := 1; r <= res; r++ {
		if d[r] != 0 {
			return d[r]
		}
	}
	return 0
}

// turn is one candidate for how a resolution-0 position turns digits:
// rot counter-clockwise turns, and for a pentagon base cell whether a
// leading K digit is first turned clockwise (cw) or counter-clockwise.
type turn struct {
	rot int
	cw  bool
}

// apply turns walked digits into index digits as _faceIjkToH3 does.
func (t turn) apply(d digits, res int, pentagon bool) digits {
	if !pentagon {
		for range t.rot {
			d.turnAll(&rot60ccw, res)
		}
		return d
	}
	if d.leading(res) == 1 {
		if t.cw {
			d.turnAll(&rot60cw, res)
		} else {
			d.turnAll(&rot60ccw, res)
		}
	}
	for range t.rot { // _h3RotatePent60ccw
		found := false
		for r := 1; r <= res; r++ {
			d[r] = rot60ccw[d[r]]
			if !found && d[r] != 0 {
				found = true
				if d.leading(res) == 1 {
					d.turnAll(&rot60ccw, res)
				}
			}
		}
	}
	return d
}

func indexDigits(c h3.Cell, res int) (d digits) {
	for r := 1; r <= res; r++ {
		d[r] = uint8(uint64(c)>>((h3.MaxResolution-r)*3)) & 7
	}
	return d
}

// withDigits returns index c with its digits 1..res replaced by d.
func withDigits(c h3.Cell, res int, d *digits) h3.Cell {
	v := uint64(c)
	for r := 1; r <= res; r++ {
		shift := (h3.MaxResolution - r) * 3
		v = v&^(7<<shift) | uint64(d[r])<<shift
	}
	return h3.Cell(v)
}

// position is what resolveKeys has learnt about one resolution-0 position.
type position struct {
	seen     h3.Cell // an index from there: base cell, mode, resolution
	pentagon bool
	cands    []turn // the turns consistent with every answer so far
}

// resolveKeys returns the cell of each key: an H3 index as it is; a
// lattice key by the digit walk and a learnt turn, or by one h3-go call
// (on the point first[i] that produced key i) while its position has not
// taught enough. It also returns how many calls it made: a few per
// resolution-0 position, plus keys the walk cannot take.
func resolveKeys(keys []uint64, first []int32, points []Point, res int) ([]h3.Cell, int) {
	l := newLocator(res)
	out := make([]h3.Cell, len(keys))
	positions := map[int]*position{}
	calls := 0
	for i, k := range keys {
		if !isLatticeKey(k) {
			out[i] = h3.Cell(k)
			continue
		}
		var walked digits
		pos, ok := l.digitWalk(k, &walked)
		var ps *position
		if ok {
			ps = positions[pos]
		}
		if ps != nil && len(ps.cands) > 0 {
			d := ps.cands[0].apply(walked, res, ps.pentagon)
			agree := true
			for _, t := range ps.cands[1:] {
				agree = agree && t.apply(walked, res, ps.pentagon) == d
			}
			if agree {
				out[i] = withDigits(ps.seen, res, &d)
				continue
			}
		}
		calls++
		p := points[first[i]]
		c := cellOf(p.Lon, p.Lat, res)
		out[i] = c
		if !ok {
			continue
		}
		if ps == nil {
			ps = &position{seen: c, pentagon: pentagonBaseCell[c.BaseCellNumber()]}
			for rot := range 6 {
				ps.cands = append(ps.cands, turn{rot: rot})
				if ps.pentagon {
					ps.cands = append(ps.cands, turn{rot: rot, cw: true})
				}
			}
			positions[pos] = ps
		}
		if c.BaseCellNumber() != ps.seen.BaseCellNumber() {
			ps.cands = nil // cannot happen in H3; never trust this position
			continue
		}
		want := indexDigits(c, res)
		kept := ps.cands[:0]
		for _, t := range ps.cands {
			if t.apply(walked, res, ps.pentagon) == want {
				kept = append(kept, t)
			}
		}
		ps.cands = kept
	}
	return out, calls
}
