package ingest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/paulmach/orb"
)

// Precision is how finely an order was placed: household (a household's
// address, or coordinates), place (a named place of the places table),
// village (a village or community named alone), township (only the
// township is known: the order waits in that township's review queue), or
// none (nothing known, or a name that is ambiguous: the command center's
// review queue).
type Precision string

// The precisions, finest first.
const (
	PrecisionHousehold Precision = "household"
	PrecisionPlace     Precision = "place"
	PrecisionVillage   Precision = "village"
	PrecisionTownship  Precision = "township"
	PrecisionNone      Precision = "none"
)

// Precisions lists the precisions, finest first.
var Precisions = []Precision{PrecisionHousehold, PrecisionPlace, PrecisionVillage, PrecisionTownship, PrecisionNone}

// Area is a township or a village of the gazetteer.
type Area struct {
	ID       int64
	Code     string
	Name     string
	Township *Area // a village's township; nil for a township
	// Point is where a clue placed at village precision is put (WGS-84):
	// a point inside the village, in one of its household grids.
	Point orb.Point
}

// Place is a named place of the gazetteer (a residential compound, a
// road, a landmark): a point (WGS-84) in its village.
type Place struct {
	ID      int64
	Name    string
	Kind    string
	Village *Area
	Point   orb.Point
}

type householdKey struct {
	village int64
	house   string
}

// Gazetteer matches addresses as callers give them to the district's
// townships, villages and communities, named places and household
// addresses. It is read-only once loaded and safe for concurrent use.
type Gazetteer struct {
	townships  []*Area
	byCode     map[string]*Area
	towns      map[string][]*Area
	villages   map[string][]*Area
	places     map[string][]*Place
	households map[householdKey]orb.Point
	maxLen     int // runes of the longest name
	// the village AddHousehold last saw and its normalised name
	lastVillage *Area
	lastName    string
}

// Match is where an address lands.
type Match struct {
	Precision Precision
	Township  *Area  // nil at none
	Village   *Area  // set at village precision and finer
	Place     *Place // set at place precision
	Point     orb.Point
	// Matched is the text that decided (the normalised names found, with
	// the house number at household precision).
	Matched string
	// Reason says why the match is not finer, e.g. an ambiguous village
	// name; empty at household precision.
	Reason string
}

// NewGazetteer builds an empty gazetteer; Add* fill it (LoadGazetteer
// does so from the database).
func NewGazetteer() *Gazetteer {
	return &Gazetteer{byCode: map[string]*Area{}, towns: map[string][]*Area{}, villages: map[string][]*Area{},
		places: map[string][]*Place{}, households: map[householdKey]orb.Point{}}
}

// townSuffixes and villageSuffixes are dropped to give the short names
// callers use: 康庄镇 → 康庄, 小丰营村 → 小丰营, 湖南社区 → 湖南.
var (
	townSuffixes    = []string{"街道办事处", "街道", "地区", "镇", "乡"}
	villageSuffixes = []string{"村民委员会", "居民委员会", "村委会", "居委会", "社区", "村"}
)

func shortName(name string, suffixes []string) string {
	for _, s := range suffixes {
		if strings.HasSuffix(name, s) {
			return strings.TrimSuffix(name, s)
		}
	}
	return name
}

func (g *Gazetteer) addName(m map[string][]*Area, name string, a *Area) {
	name = NormalizeAddress(name)
	if utf8.RuneCountInString(name) < 2 || slices.Contains(m[name], a) {
		return
	}
	m[name] = append(m[name], a)
	g.maxLen = max(g.maxLen, utf8.RuneCountInString(name))
}

// AddTownship adds a township under its name, its short name and aliases.
func (g *Gazetteer) AddTownship(a *Area, aliases ...string) {
	g.townships = append(g.townships, a)
	g.byCode[a.Code] = a
	g.addName(g.towns, a.Name, a)
	if s := shortName(a.Name, townSuffixes); s != "延庆" { // 延庆 alone is the district
		g.addName(g.towns, s, a)
	}
	for _, al := range aliases {
		g.addName(g.towns, al, a)
	}
}

// AddVillage adds a village or community (its Township set) under its
// name, its short name (unless a township has that name: add the
// townships first) and aliases.
func (g *Gazetteer) AddVillage(a *Area, aliases ...string) {
	g.byCode[a.Code] = a
	g.addName(g.villages, a.Name, a)
	// a community named after its township (四海镇社区) is not 四海镇
	if s := shortName(a.Name, villageSuffixes); len(g.towns[NormalizeAddress(s)]) == 0 {
		g.addName(g.villages, s, a)
	}
	for _, al := range aliases {
		g.addName(g.villages, al, a)
	}
}

// AddPlace adds a named place under its name and aliases.
func (g *Gazetteer) AddPlace(p *Place, aliases ...string) {
	for _, n := range append([]string{p.Name}, aliases...) {
		n = NormalizeAddress(n)
		if utf8.RuneCountInString(n) < 2 {
			continue
		}
		g.places[n] = append(g.places[n], p)
		g.maxLen = max(g.maxLen, utf8.RuneCountInString(n))
	}
}

// AddHousehold adds a household's address in village v (the address as
// stored, e.g. 旧县镇常家营村 125号) at pt (WGS-84). An address whose house
// part cannot be read is not added and false is returned.
func (g *Gazetteer) AddHousehold(v *Area, address string, pt orb.Point) bool {
	n := NormalizeAddress(address)
	if g.lastVillage != v { // households come village by village
		g.lastVillage, g.lastName = v, NormalizeAddress(v.Name)
	}
	i := strings.Index(n, g.lastName)
	if i < 0 {
		return false
	}
	key := houseKey(n[i+len(g.lastName):])
	if key == "" {
		return false
	}
	g.households[householdKey{v.ID, key}] = pt
	return true
}

// Area returns the township or village with the code, or nil.
func (g *Gazetteer) Area(code string) *Area { return g.byCode[code] }

// Township returns the township a name (full, short or alias) names, or
// nil when none or several do.
func (g *Gazetteer) Township(name string) *Area {
	if as := g.towns[NormalizeAddress(name)]; len(as) == 1 {
		return as[0]
	}
	return nil
}

// hit is a name found in an address, runes [start, end).
type hit struct {
	start, end int // byte offsets in the normalised address
	runes      int
}

// boundaryBefore: the runes after which a village or place name may
// start, besides the start, a township name and anything not Han.
const boundaryBefore = "在住于到是的近旁"

// Match places an address. township and village are the 所属街乡 and
// 所属社区(村) columns when the export has them ("" otherwise); the
// address's own township wins over the column's. A village name that
// several townships have, with no township to tell them apart, is not
// guessed: the match is none with the reason.
func (g *Gazetteer) Match(address, township, village string) Match {
	n := NormalizeAddress(address)
	rs := []rune(n)
	offs := make([]int, len(rs)+1)
	o := 0
	for i, r := range rs {
		offs[i] = o
		o += utf8.RuneLen(r)
	}
	offs[len(rs)] = o

	// townships in the address
	var town *Area
	var townText string
	townEnds := map[int]bool{}
	townConflict := false
	for i := 0; i < len(rs); i++ {
		for l := min(g.maxLen, len(rs)-i); l >= 2; l-- {
			s := n[offs[i]:offs[i+l]]
			as := g.towns[s]
			if len(as) != 1 {
				continue
			}
			townEnds[i+l] = true
			if town != nil && town != as[0] {
				townConflict = true
			}
			if town == nil {
				town, townText = as[0], s
			}
			i += l - 1
			break
		}
	}
	if townConflict {
		town, townText = nil, ""
	}
	if town == nil && township != "" {
		if t := g.Township(township); t != nil {
			town, townText = t, NormalizeAddress(township)
		}
	}

	bounded := func(i int) bool {
		if i == 0 || townEnds[i] {
			return true
		}
		p := rs[i-1]
		return !unicode.Is(unicode.Han, p) || strings.ContainsRune(boundaryBefore, p)
	}
	// the longest village names and place names in the address
	type found struct {
		h     hit
		areas []*Area
	}
	var vills []found
	var plcs []struct {
		h      hit
		places []*Place
	}
	for i := 0; i < len(rs); i++ {
		if !bounded(i) {
			continue
		}
		for l := min(g.maxLen, len(rs)-i); l >= 2; l-- {
			s := n[offs[i]:offs[i+l]]
			if as := g.villages[s]; len(as) > 0 {
				vills = append(vills, found{hit{offs[i], offs[i+l], l}, as})
				break
			}
		}
		for l := min(g.maxLen, len(rs)-i); l >= 2; l-- {
			s := n[offs[i]:offs[i+l]]
			if ps := g.places[s]; len(ps) > 0 {
				plcs = append(plcs, struct {
					h      hit
					places []*Place
				}{hit{offs[i], offs[i+l], l}, ps})
				break
			}
		}
	}
	if len(vills) == 0 && village != "" {
		v := NormalizeAddress(village)
		if as := g.villages[v]; len(as) > 0 {
			vills = append(vills, found{hit{-1, -1, utf8.RuneCountInString(v)}, as})
		}
	}

	m := Match{Precision: PrecisionNone, Township: town, Matched: townText}
	if town != nil {
		m.Precision = PrecisionTownship
	}
	var v *Area
	var vText string
	vStart, vEnd := -1, -1
	if len(vills) > 0 {
		best := 0
		for _, f := range vills {
			best = max(best, f.h.runes)
		}
		var cands []*Area
		for _, f := range vills {
			if f.h.runes != best {
				continue
			}
			for _, a := range f.areas {
				if town != nil && a.Township != town {
					continue
				}
				if !slices.Contains(cands, a) {
					cands = append(cands, a)
					vStart, vEnd = f.h.start, f.h.end
					if f.h.start >= 0 {
						vText = n[f.h.start:f.h.end]
					} else {
						vText = NormalizeAddress(village)
					}
				}
			}
		}
		switch {
		case len(cands) == 1:
			v = cands[0]
		case len(cands) == 0 && town != nil:
			m.Reason = fmt.Sprintf("no village named in the address lies in %s", town.Name)
		case len(cands) == 0:
		default:
			names := make([]string, 0, len(cands))
			sameTown := true
			for _, a := range cands {
				names = append(names, a.Township.Name+a.Name)
				sameTown = sameTown && a.Township == cands[0].Township
			}
			if sameTown {
				m.Precision, m.Township = PrecisionTownship, cands[0].Township
			}
			m.Reason = fmt.Sprintf("ambiguous village name %q: %s; the address names no township to tell them apart", vText, strings.Join(names, ", "))
			vEnd = -1
		}
	}
	// a place whose name holds the village's (小丰营广场 over 小丰营) is
	// what the caller named
	for _, f := range plcs {
		if v != nil && vStart >= 0 && f.h.start <= vStart && f.h.end >= vEnd && f.h.end-f.h.start > vEnd-vStart {
			v, vEnd = nil, -1
		}
	}
	if v != nil {
		m.Precision, m.Township, m.Village, m.Point, m.Reason = PrecisionVillage, v.Township, v, v.Point, ""
		m.Matched = joinText(townText, vText)
		if vEnd >= 0 {
			if key := houseKey(n[vEnd:]); key != "" {
				if pt, ok := g.households[householdKey{v.ID, key}]; ok {
					m.Precision, m.Point = PrecisionHousehold, pt
					m.Matched += key
					return m
				}
				m.Reason = fmt.Sprintf("no household %s in %s", key, v.Name)
			}
		}
	}
	// a named place, in the township and village already known
	var pc []*Place
	var pText string
	best := 0
	for _, f := range plcs {
		if f.h.runes < best {
			continue
		}
		var in []*Place
		for _, p := range f.places {
			if (m.Township == nil || p.Village.Township == m.Township) && (v == nil || p.Village == v) {
				in = append(in, p)
			}
		}
		if len(in) == 0 {
			continue
		}
		if f.h.runes > best {
			pc, best = nil, f.h.runes
		}
		pc = append(pc, in...)
		pText = n[f.h.start:f.h.end]
	}
	switch {
	case len(pc) == 1:
		p := pc[0]
		return Match{Precision: PrecisionPlace, Township: p.Village.Township, Village: p.Village, Place: p, Point: p.Point,
			Matched: joinText(m.Matched, pText)}
	case len(pc) > 1 && m.Precision == PrecisionNone:
		m.Reason = fmt.Sprintf("ambiguous place name %q: %d places; the address names no township", pText, len(pc))
	}
	if m.Precision == PrecisionNone && m.Reason == "" {
		m.Reason = "no township, village or place of the gazetteer is named in the address"
	}
	if m.Precision == PrecisionTownship && m.Reason == "" {
		m.Reason = "no village, place or household of " + m.Township.Name + " is named in the address"
	}
	return m
}

func joinText(a, b string) string {
	if strings.HasSuffix(a, b) {
		return a
	}
	return a + b
}

// LoadGazetteer reads the gazetteer from the database: the current
// townships and villages, the named places, and the households'
// addresses. place finds, for each village, the household grid a point
// lies in (the placement index), so that a village's point is surely
// inside it.
func LoadGazetteer(ctx context.Context, pool *pgxpool.Pool, place func(orb.Point) (village string, ok bool)) (*Gazetteer, error) {
	g := NewGazetteer()
	rows, err := pool.Query(ctx, loadAreas)
	if err != nil {
		return nil, fmt.Errorf("ingest: gazetteer: %w", err)
	}
	for rows.Next() {
		a := &Area{}
		var level string
		var x1, y1, x2, y2 float64
		if err := rows.Scan(&a.ID, &a.Code, &level, &a.Name, &x1, &y1, &x2, &y2); err != nil {
			rows.Close()
			return nil, fmt.Errorf("ingest: gazetteer: %w", err)
		}
		if level == "township" {
			g.AddTownship(a)
			continue
		}
		a.Township = g.byCode[a.Code[:9]]
		if a.Township == nil {
			continue
		}
		a.Point = orb.Point{x1, y1}
		if code, ok := place(a.Point); !ok || code != a.Code {
			a.Point = orb.Point{x2, y2}
		}
		g.AddVillage(a)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("ingest: gazetteer: %w", err)
	}
	rows, err = pool.Query(ctx, loadPlaces)
	if err != nil {
		return nil, fmt.Errorf("ingest: gazetteer: %w", err)
	}
	for rows.Next() {
		p := &Place{}
		var code string
		var aliases []string
		if err := rows.Scan(&p.ID, &p.Name, &p.Kind, &aliases, &code, &p.Point[0], &p.Point[1]); err != nil {
			rows.Close()
			return nil, fmt.Errorf("ingest: gazetteer: %w", err)
		}
		if p.Village = g.byCode[code]; p.Village != nil {
			g.AddPlace(p, aliases...)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("ingest: gazetteer: %w", err)
	}
	rows, err = pool.Query(ctx, loadHouseholds)
	if err != nil {
		return nil, fmt.Errorf("ingest: gazetteer: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var code, addr string
		var pt orb.Point
		if err := rows.Scan(&code, &addr, &pt[0], &pt[1]); err != nil {
			return nil, fmt.Errorf("ingest: gazetteer: %w", err)
		}
		if v := g.byCode[code]; v != nil {
			g.AddHousehold(v, addr, pt)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("ingest: gazetteer: %w", err)
	}
	return g, nil
}

// loadAreas: townships first, then villages with two candidate points
// (WGS-84): a point on the village's surface, and one on its first
// household grid's.
const loadAreas = `
SELECT g.id, g.code, g.level, g.name,
    ST_X(ST_PointOnSurface(g.geom)), ST_Y(ST_PointOnSurface(g.geom)),
    coalesce(ST_X(h.pt), ST_X(ST_PointOnSurface(g.geom))), coalesce(ST_Y(h.pt), ST_Y(ST_PointOnSurface(g.geom)))
FROM grids g
LEFT JOIN LATERAL (
    SELECT ST_PointOnSurface(hg.geom) AS pt FROM grids hg
    WHERE hg.parent_id = g.id AND hg.level = 'household' AND hg.valid_to IS NULL
    ORDER BY hg.code LIMIT 1
) h ON g.level = 'village'
WHERE g.level IN ('township', 'village') AND g.valid_to IS NULL
ORDER BY g.level = 'village', g.code`

const loadPlaces = `
SELECT p.id, p.name, p.kind, p.aliases, v.code, ST_X(p.location), ST_Y(p.location)
FROM places p JOIN grids v ON v.id = p.village_id
ORDER BY p.id`

const loadHouseholds = `
SELECT v.code, h.address, ST_X(h.location), ST_Y(h.location)
FROM households h
JOIN grids hg ON hg.id = h.grid_id
JOIN grids v ON v.id = hg.parent_id
WHERE h.address IS NOT NULL`
