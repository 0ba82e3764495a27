package ingest

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/paulmach/orb"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/transform"

	"whistlegrid/geo"
)

// AddressKind is how a generated order gives its location, as callers do.
type AddressKind string

// The address kinds of generated orders.
const (
	AddrHousehold AddressKind = "household" // a household's exact address, written one of many ways
	AddrVillage   AddressKind = "village"   // the village name alone (with or without its township)
	AddrPlace     AddressKind = "place"     // a named place (road, landmark, compound)
	AddrTypo      AddressKind = "typo"      // a village name with one character wrong
	AddrCoords    AddressKind = "coords"    // GCJ-02 coordinates of a household, a vague address
	AddrTownship  AddressKind = "township"  // the township only
	AddrNothing   AddressKind = "nothing"   // nothing usable
)

// Truth is what a generated order really is: its kind and the village
// (code) and township (code) it is in.
type Truth struct {
	OrderNo  string
	Kind     AddressKind
	Village  string
	Township string
	// NamesVillage: the address names the true village in a way that
	// tells it apart (its name is unique, or its township is given).
	NamesVillage bool
}

type genVillage struct {
	code, name, town, townName string
	households                 []genHousehold
	dupName                    bool
}

type genHousehold struct {
	address string
	pt      orb.Point
}

type genPlace struct{ name, village, town string }

// HotlineGenerator writes hotline exports with addresses as callers give
// them, and knows the truth of every row. It is for tests and
// `whistlegrid bench import`.
type HotlineGenerator struct {
	villages   []genVillage
	places     []genPlace
	categories []string
	start      time.Time
	seed       uint64
}

// NewHotlineGenerator reads the villages, households (up to 20 a
// village), places and category names it draws from.
func NewHotlineGenerator(ctx context.Context, pool *pgxpool.Pool, seed uint64) (*HotlineGenerator, error) {
	g := &HotlineGenerator{seed: seed, start: time.Date(2026, 1, 1, 8, 0, 0, 0, geo.Beijing)}
	rows, err := pool.Query(ctx, `
WITH h AS (
    SELECT hg.parent_id AS village_id, h.id, h.address, h.location,
        row_number() OVER (PARTITION BY hg.parent_id ORDER BY h.id) AS n
    FROM households h JOIN grids hg ON hg.id = h.grid_id
)
SELECT v.code, v.name, t.code, t.name, count(*) OVER (PARTITION BY v.name) > 1,
    coalesce(array_agg(h.address ORDER BY h.id) FILTER (WHERE h.id IS NOT NULL), '{}'),
    coalesce(array_agg(ST_X(h.location) ORDER BY h.id) FILTER (WHERE h.id IS NOT NULL), '{}'),
    coalesce(array_agg(ST_Y(h.location) ORDER BY h.id) FILTER (WHERE h.id IS NOT NULL), '{}')
FROM grids v JOIN grids t ON t.code = left(v.code, 9) AND t.level = 'township'
LEFT JOIN h ON h.village_id = v.id AND h.n <= 20
WHERE v.level = 'village'
GROUP BY v.code, v.name, t.code, t.name ORDER BY v.code`)
	if err != nil {
		return nil, fmt.Errorf("ingest: generator: %w", err)
	}
	for rows.Next() {
		var v genVillage
		var addrs []string
		var xs, ys []float64
		if err := rows.Scan(&v.code, &v.name, &v.town, &v.townName, &v.dupName, &addrs, &xs, &ys); err != nil {
			rows.Close()
			return nil, fmt.Errorf("ingest: generator: %w", err)
		}
		for i := range addrs {
			v.households = append(v.households, genHousehold{addrs[i], orb.Point{xs[i], ys[i]}})
		}
		g.villages = append(g.villages, v)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("ingest: generator: %w", err)
	}
	rows, err = pool.Query(ctx, `SELECT p.name, v.code, left(v.code, 9) FROM places p JOIN grids v ON v.id = p.village_id ORDER BY p.id`)
	if err != nil {
		return nil, fmt.Errorf("ingest: generator: %w", err)
	}
	for rows.Next() {
		var p genPlace
		if err := rows.Scan(&p.name, &p.village, &p.town); err != nil {
			rows.Close()
			return nil, fmt.Errorf("ingest: generator: %w", err)
		}
		g.places = append(g.places, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("ingest: generator: %w", err)
	}
	rows, err = pool.Query(ctx, `SELECT name FROM categories c WHERE NOT EXISTS (SELECT 1 FROM categories k WHERE k.parent_id = c.id)
        GROUP BY name HAVING count(*) = 1 ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("ingest: generator: %w", err)
	}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			rows.Close()
			return nil, err
		}
		g.categories = append(g.categories, s)
	}
	rows.Close()
	if len(g.villages) == 0 || len(g.categories) == 0 {
		return nil, fmt.Errorf("ingest: generator: no villages or categories")
	}
	return g, rows.Err()
}

// GeneratedHeader is the header of generated exports: synonyms, not the
// canonical names, as real exports have.
var GeneratedHeader = []string{"工单编号", "来电时间", "来电人", "联系电话", "事发地址", "诉求内容", "问题分类", "所属街乡", "所属社区(村)",
	"承办单位", "办理时限", "是否解决", "是否满意", "经度", "纬度", "坐标系"}

var typoSwap = map[rune]rune{'家': '加', '营': '英', '庄': '装', '村': '寸', '沟': '勾', '河': '何', '山': '三', '屯': '吞', '堡': '保', '子': '紫',
	'东': '冬', '西': '希', '南': '男', '北': '贝', '大': '达', '小': '晓', '新': '心', '王': '汪', '李': '里', '张': '章', '刘': '留', '石': '十'}

// Row is the i-th generated order and its truth.
func (g *HotlineGenerator) Row(i int) ([]string, Truth) {
	r := rand.New(rand.NewPCG(g.seed, uint64(i)))
	v := &g.villages[r.IntN(len(g.villages))]
	no := fmt.Sprintf("GEN%09d", i)
	tr := Truth{OrderNo: no, Village: v.code, Township: v.town}
	at := g.start.Add(time.Duration(i%300000) * 97 * time.Second)
	rec := make([]string, len(GeneratedHeader))
	rec[0], rec[1] = no, at.Format("2006-01-02 15:04:05")
	rec[2], rec[3] = "张先生", fmt.Sprintf("1380000%04d", i%10000)
	rec[5] = "反映" + v.name + "附近问题，请尽快处理"
	rec[6] = g.categories[r.IntN(len(g.categories))]
	rec[9], rec[10] = "属地街乡", at.Add(72*time.Hour).Format("2006-01-02 15:04:05")
	rec[11], rec[12] = []string{"是", "否"}[r.IntN(2)], []string{"满意", "基本满意", "不满意"}[r.IntN(3)]
	townCol := r.IntN(2) == 0
	if townCol {
		rec[7] = v.townName
	}
	k := r.IntN(100)
	switch {
	case k < 35 && len(v.households) > 0:
		tr.Kind, tr.NamesVillage = AddrHousehold, true
		h := v.households[r.IntN(len(v.households))]
		rec[4] = HouseholdAddress(r, h.address)
	case k < 50:
		tr.Kind = AddrVillage
		var withTown bool
		rec[4], _, withTown = VillageAddress(r, v.townName, v.name)
		tr.NamesVillage = withTown || !v.dupName || townCol
	case k < 65 && len(g.places) > 0:
		p := g.places[r.IntN(len(g.places))]
		tr.Kind, tr.Village, tr.Township = AddrPlace, p.village, p.town
		rec[7] = ""
		rec[4] = PlaceAddress(r, p.name)
	case k < 75:
		tr.Kind = AddrTypo
		rec[4] = TypoAddress(v.townName, v.name)
	case k < 85 && len(v.households) > 0:
		tr.Kind = AddrCoords
		h := v.households[r.IntN(len(v.households))]
		rec[4] = VagueAddress
		rec[13], rec[14], rec[15] = GCJ02Cells(h.pt)
	case k < 95:
		tr.Kind, tr.Village = AddrTownship, ""
		rec[4] = TownshipAddress(r, v.townName)
	default:
		tr.Kind, tr.Village, tr.Township = AddrNothing, "", ""
		rec[4], rec[7] = NoAddress(r), ""
	}
	if tr.Kind == AddrHousehold || tr.Kind == AddrVillage || tr.Kind == AddrTypo {
		rec[8] = ""
	}
	return rec, tr
}

// The address writers: each writes a location as a caller gives it to
// the hotline, drawing its wording from r. The generator's rows and the
// demo's year use them.

// HouseholdAddress writes a household's address (as stored, e.g.
// 旧县镇常家营村 125号) as a caller might: with the 北京市延庆区 prefix,
// without the space, with full-width digits, 栋 for 号楼, or 26-1-201.
func HouseholdAddress(r *rand.Rand, a string) string {
	switch r.IntN(6) {
	case 0:
		return "北京市延庆区" + a
	case 1:
		return strings.ReplaceAll(a, " ", "")
	case 2:
		return strings.Map(func(c rune) rune {
			if c >= '0' && c <= '9' {
				return c - '0' + '０'
			}
			return c
		}, a)
	case 3:
		return strings.ReplaceAll(a, "号楼", "栋")
	case 4:
		if m := flatParts.FindStringSubmatch(a); m != nil {
			return strings.Replace(a, m[0], m[1]+"-"+m[2]+"-"+m[3], 1)
		}
	}
	return a
}

// VillageAddress names a village alone (full name, or short name with
// 村委会 or 附近), after its township's name half the time (withTown). said
// is the village's name as the address says it. A community (社区) has a
// 居委会 and a 门口 where a village has a 村委会 and a 村口; a community named
// after its township (四海镇社区) keeps its full name: short, it is the
// township.
func VillageAddress(r *rand.Rand, township, village string) (address, said string, withTown bool) {
	office, gate := "村委会", "村口"
	if strings.HasSuffix(village, "社区") {
		office, gate = "居委会", "门口"
	}
	said = village
	name := village
	if r.IntN(3) == 0 {
		suffix := []string{office, "", "附近"}[r.IntN(3)]
		if s := VillageShortName(village); shortName(s, townSuffixes) == s {
			said, name = s, s+suffix
		}
	}
	if r.IntN(2) == 0 {
		return township + name + []string{gate, "主街", "", "东侧路边"}[r.IntN(4)], said, true
	}
	return name + []string{gate, "", "附近"}[r.IntN(3)], said, false
}

// VillageShortName is a village's name without its 村, 社区, 村委会 … (小丰营村
// → 小丰营), as callers say it and the gazetteer knows it.
func VillageShortName(name string) string { return shortName(name, villageSuffixes) }

// PlaceAddress names a place (a compound, road or landmark).
func PlaceAddress(r *rand.Rand, place string) string {
	return place + []string{"门口", "附近", "对面", ""}[r.IntN(4)]
}

// TypoAddress names a village, after its township, with one character
// written wrong (a homophone), as a call taker mishears it; a name with no
// character to swap stays right.
func TypoAddress(township, village string) string {
	rs := []rune(village)
	for j := range rs {
		if s, ok := typoSwap[rs[j]]; ok && j < len(rs)-1 {
			rs[j] = s
			break
		}
	}
	return township + string(rs) + "附近"
}

// VagueAddress is the address of an order that carries coordinates.
const VagueAddress = "路边"

// GCJ02Cells are the 经度, 纬度 and 坐标系 cells of a WGS-84 point sent in
// GCJ-02, as map apps send it (6 decimals).
func GCJ02Cells(pt orb.Point) (lon, lat, datum string) {
	c := geo.WGS84ToGCJ02(pt)
	return strconv.FormatFloat(c[0], 'f', 6, 64), strconv.FormatFloat(c[1], 'f', 6, 64), "GCJ-02"
}

// TownshipAddress names the township only.
func TownshipAddress(r *rand.Rand, township string) string {
	return township + []string{"某路段", "辖区内", "政府附近"}[r.IntN(3)]
}

// NoAddress is an address with nothing usable.
func NoAddress(r *rand.Rand) string {
	return []string{"不详", "来电人未提供地址", ""}[r.IntN(3)]
}

// WriteCSV writes n generated orders from the first-th as CSV (GBK when
// gbk) to w, calling truth for each if set.
func (g *HotlineGenerator) WriteCSV(w io.Writer, first, n int, gbk bool, truth func(Truth)) error {
	if gbk {
		tw := transform.NewWriter(w, simplifiedchinese.GB18030.NewEncoder())
		defer tw.Close()
		w = tw
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(GeneratedHeader); err != nil {
		return err
	}
	for i := first; i < first+n; i++ {
		rec, tr := g.Row(i)
		if truth != nil {
			truth(tr)
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
