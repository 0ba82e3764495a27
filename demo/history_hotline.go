package demo

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/paulmach/orb"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/transform"

	"whistlegrid/geo"
	"whistlegrid/grid"
	"whistlegrid/ingest"
	"whistlegrid/internal/xlsx"
	"whistlegrid/whistle"
)

// The year's 12345 hotline orders come in as a district's would: the
// demo writes them as the hotline's exports (some months xlsx, the others
// GBK CSV, with the Chinese headers and their synonyms) with the address
// each caller gave, and imports them through ingest's hotline importer in
// history mode. Before the simulation, each order is placed with the
// importer's own parser and matcher (ingest.RowPlacer), so that the
// simulated clue sits where the import puts it; an order the import
// cannot place (an address naming only a township, or nothing, or a
// misheard village) is no clue of the simulation and waits in the review
// queue, as any unplaced import does. After the simulation the exports
// are written with its outcomes (是否解决 from the whistle's close, 是否满意
// from its last callback), imported, and the rest of the year is written
// linked to the clues the import created.

// HotlineImport is how the year's hotline orders came in.
type HotlineImport struct {
	// Dir is the folder of the exports (HistoryOptions.ExportDir, or a
	// temporary folder removed after the load).
	Dir string
	// Files are the exports' names in Dir, in the order imported; Truth
	// is the name of the truth file beside them (not read by the importer).
	Files []string
	Truth string
	// XLSX and CSV count the files of each kind.
	XLSX, CSV int
	// Orders is the rows written; the rest is what the importer reported,
	// summed over the files.
	Orders                                   int
	Imported, Duplicates, Rejected, Unplaced int64
	Precisions                               map[ingest.Precision]int64
	// Took is the time to write and import the exports.
	Took time.Duration
}

// The columns of the demo's exports, in their order.
const (
	hcNo = iota
	hcReceived
	hcCaller
	hcPhone
	hcAddress
	hcContent
	hcCat1
	hcCat2
	hcCat3
	hcTownship
	hcResolved
	hcSatisfied
	hcLon
	hcLat
	hcDatum
	hcCount
)

// The headers of the two kinds of export: the xlsx months use the
// canonical names, the CSV months the synonyms another hotline system
// writes.
var (
	hotlineXLSXHeader = []string{"工单编号", "受理时间", "诉求人", "联系电话", "诉求地址", "诉求内容", "问题分类", "二级分类", "三级分类",
		"所属街乡", "是否解决", "是否满意", "经度", "纬度", "坐标系"}
	hotlineCSVHeader = []string{"工单号", "来电时间", "来电人", "来电号码", "事发地址", "来电内容", "一级分类", "问题分类(二级)", "三级分类",
		"街乡镇", "解决情况", "满意度", "经度", "纬度", "坐标系"}
)

// HotlineTruthHeader is the header of the truth file the demo writes
// beside its exports: each order's address kind, true village and
// township (codes), true location (WGS-84) and whether its address names
// its village so as to tell it apart.
var HotlineTruthHeader = []string{"工单编号", "file", "kind", "village", "township", "lon", "lat", "names_village"}

// hotlineTruth is what an order really is.
type hotlineTruth struct {
	kind              ingest.AddressKind
	village, township string // codes
	lon, lat          float64
	namesVillage      bool
}

// hotlineOrder is one order of the year.
type hotlineOrder struct {
	d     *draft
	row   []string
	truth hotlineTruth
	xlsx  bool
	month string // of 受理时间, 2006-01
	sim   int    // index in the simulation's clues; -1: it waits in the review queue
}

// hotlineYear writes, places and imports the year's orders.
type hotlineYear struct {
	seed    int64
	placer  *grid.Placer
	im      *ingest.Importer
	placers [2]*ingest.RowPlacer // xlsx, CSV
	places  map[string][]string  // place names by village code
	goBy    map[string][]string  // the villages (codes) a name (full or short) may mean
	catCell map[*hCat][3]string  // the category cells of a leaf
	orders  []*hotlineOrder
}

func newHotlineYear(ctx context.Context, pool *pgxpool.Pool, w *world, seed int64) (*hotlineYear, error) {
	h := &hotlineYear{seed: seed, placer: w.placer, im: ingest.NewImporter(pool, w.placer, nil), places: map[string][]string{}, goBy: map[string][]string{},
		catCell: map[*hCat][3]string{}}
	var err error
	for k, header := range [][]string{hotlineXLSXHeader, hotlineCSVHeader} {
		if h.placers[k], err = h.im.RowPlacer(ctx, header, nil); err != nil {
			return nil, fmt.Errorf("demo: history: hotline: %w", err)
		}
	}
	rows, err := pool.Query(ctx, `SELECT p.name, v.code FROM places p JOIN grids v ON v.id = p.village_id ORDER BY p.id`)
	if err != nil {
		return nil, fmt.Errorf("demo: history: hotline: %w", err)
	}
	for rows.Next() {
		var name, code string
		if err := rows.Scan(&name, &code); err != nil {
			rows.Close()
			return nil, fmt.Errorf("demo: history: hotline: %w", err)
		}
		h.places[code] = append(h.places[code], name)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("demo: history: hotline: %w", err)
	}
	rows, err = pool.Query(ctx, `SELECT code, name FROM grids WHERE level = 'village' AND valid_to IS NULL ORDER BY code`)
	if err != nil {
		return nil, fmt.Errorf("demo: history: hotline: %w", err)
	}
	for rows.Next() {
		var code, name string
		if err := rows.Scan(&code, &name); err != nil {
			rows.Close()
			return nil, fmt.Errorf("demo: history: hotline: %w", err)
		}
		h.goBy[name] = append(h.goBy[name], code)
		if s := ingest.VillageShortName(name); s != name {
			h.goBy[s] = append(h.goBy[s], code)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("demo: history: hotline: %w", err)
	}
	// the category cells: the levels' names, root first; a leaf whose name
	// another category has is written by its code, which the importer
	// also takes
	names := map[string]int{}
	for _, c := range w.cats {
		names[c.name]++
	}
	for _, c := range w.cats {
		if !c.leaf {
			continue
		}
		var levels []string
		for k := c; k != nil; k = k.parent {
			levels = append([]string{k.name}, levels...)
		}
		if names[c.name] > 1 {
			levels[len(levels)-1] = c.code
		}
		var cells [3]string
		copy(cells[:], levels)
		if len(levels) > 3 {
			cells[2] = levels[len(levels)-1]
		}
		h.catCell[c] = cells
	}
	return h, nil
}

// place writes an order for every hotline clue drawn and places it as the
// import will; it returns the clues to simulate: all but the hotline
// orders the import cannot place. A planted cluster's order carries its
// coordinates, so that the cluster stays where it was planted.
func (h *hotlineYear) place(ds []*draft, clusters []plannedCluster) ([]*draft, error) {
	for _, d := range ds {
		if d.source == srcHotline {
			h.orders = append(h.orders, h.write(d))
		}
	}
	// placed on every core: each order on its own
	type result struct {
		op ingest.OrderPlacement
		rj *ingest.Reject
	}
	res := make([]result, len(h.orders))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				k := int(next.Add(1) - 1)
				if k >= len(h.orders) {
					return
				}
				rp := h.placers[1]
				if h.orders[k].xlsx {
					rp = h.placers[0]
				}
				res[k].op, res[k].rj = rp.Place(k+2, h.orders[k].row)
			}
		}()
	}
	wg.Wait()
	kept := make([]*draft, 0, len(ds))
	k := 0
	for _, d := range ds {
		if d.source != srcHotline {
			kept = append(kept, d)
			continue
		}
		o, op := h.orders[k], res[k].op
		k++
		if rj := res[k-1].rj; rj != nil {
			return nil, fmt.Errorf("demo: history: hotline order %s: the importer would reject it: %s: %s", d.ext, rj.Column, rj.Reason)
		}
		if op.Category != d.cat.code {
			return nil, fmt.Errorf("demo: history: hotline order %s: category %s read as %s", d.ext, d.cat.code, op.Category)
		}
		o.sim = -1
		if op.Placement.Chain == nil {
			if d.cluster >= 0 {
				clusters[d.cluster].Clues--
			}
			continue
		}
		// the clue as the import stores it
		d.reported = d.reported.Truncate(time.Second)
		d.wgs, d.recv, d.datum, d.pl, d.h3 = op.Point, op.Received, op.Datum, op.Placement, op.H3
		o.sim = len(kept)
		kept = append(kept, d)
	}
	return kept, nil
}

// write is the export row of hotline clue d, with the address its caller
// gave, and its truth. The address kinds are those of
// ingest.HotlineGenerator, written by the same writers: a household's
// address (the caller's home, near where it happened), the village alone,
// a named place of the village, coordinates in GCJ-02 with a vague
// address, a misheard village name, the township alone, nothing.
func (h *hotlineYear) write(d *draft) *hotlineOrder {
	r := stream(h.seed, "history hotline "+d.ext)
	vil, town := linkAt(d.pl.Chain, grid.LevelVillage), linkAt(d.pl.Chain, grid.LevelTownship)
	at := d.reported.In(geo.Beijing)
	o := &hotlineOrder{d: d, row: make([]string, hcCount), month: at.Format("2006-01"), xlsx: at.Month()%2 == 0}
	tr := hotlineTruth{village: vil.Code, township: town.Code, lon: d.wgs[0], lat: d.wgs[1]}
	row := o.row
	row[hcNo], row[hcReceived] = d.ext, at.Format("2006-01-02 15:04:05")
	row[hcCaller], row[hcPhone], row[hcContent] = d.name, d.phone, d.text
	cells := h.catCell[d.cat]
	row[hcCat1], row[hcCat2], row[hcCat3] = cells[0], cells[1], cells[2]
	townCol := r.IntN(2) == 0
	k := r.IntN(100)
	if d.cluster >= 0 {
		k = 75
	}
	switch {
	case k < 40 && d.home != nil && d.home.address != "":
		tr.kind, tr.namesVillage = ingest.AddrHousehold, true
		tr.village, tr.lon, tr.lat = d.home.village, d.home.lon, d.home.lat
		tr.township = tr.village[:9]
		row[hcAddress] = ingest.HouseholdAddress(r, d.home.address)
	case k < 60:
		tr.kind = ingest.AddrVillage
		var said string
		var withTown bool
		row[hcAddress], said, withTown = ingest.VillageAddress(r, town.Name, vil.Name)
		tr.namesVillage = h.tellsApart(said, town.Code, withTown || townCol)
	case k < 70 && len(h.places[vil.Code]) > 0:
		tr.kind = ingest.AddrPlace
		ps := h.places[vil.Code]
		row[hcAddress] = ingest.PlaceAddress(r, ps[r.IntN(len(ps))])
	case k < 85:
		tr.kind = ingest.AddrCoords
		row[hcAddress] = ingest.VagueAddress
		row[hcLon], row[hcLat], row[hcDatum] = ingest.GCJ02Cells(d.wgs)
		// the caller stood where the coordinates say, to their 6 decimals
		// (as draft has it for every clue received with coordinates)
		x, _ := strconv.ParseFloat(row[hcLon], 64)
		y, _ := strconv.ParseFloat(row[hcLat], 64)
		p := geo.GCJ02ToWGS84(orb.Point{x, y})
		tr.lon, tr.lat = p[0], p[1]
		if pl, err := h.placer.Place(p); err == nil {
			tr.village, tr.township = linkAt(pl.Chain, grid.LevelVillage).Code, linkAt(pl.Chain, grid.LevelTownship).Code
		}
	case k < 90:
		tr.kind = ingest.AddrTypo
		row[hcAddress] = ingest.TypoAddress(town.Name, vil.Name)
	case k < 96:
		tr.kind = ingest.AddrTownship
		row[hcAddress] = ingest.TownshipAddress(r, town.Name)
	default:
		tr.kind, townCol = ingest.AddrNothing, false
		row[hcAddress] = ingest.NoAddress(r)
	}
	if townCol {
		row[hcTownship] = town.Name
	}
	o.truth = tr
	return o
}

// tellsApart says whether a village's name as said names one village: one
// in the district, or one in its township when the township is known.
func (h *hotlineYear) tellsApart(said, township string, townKnown bool) bool {
	in := 0
	for _, code := range h.goBy[said] {
		if code[:9] == township {
			in++
		}
	}
	return len(h.goBy[said]) == 1 || (townKnown && in == 1)
}

// outcomes fills 是否解决 and 是否满意 from the simulation: a clue in a
// whistle has its whistle's close outcome (empty while open) and the
// resident's answer at its last callback (empty if none yet); the others,
// handled by their village or waiting in the review queue, are drawn.
func (h *hotlineYear) outcomes(s *sim) {
	resolved := map[whistle.Outcome]string{whistle.Resolved: "是", whistle.Partly: "部分解决", whistle.Unresolved: "否"}
	satisfied := map[whistle.CallbackResult]string{whistle.CallbackSatisfied: "满意", whistle.CallbackBasically: "基本满意",
		whistle.CallbackUnsatisfied: "不满意"}
	for _, o := range h.orders {
		var w *sw
		if o.sim >= 0 {
			w = s.clueWh[o.sim]
		}
		if w != nil {
			if w.status == whistle.Closed {
				o.row[hcResolved] = resolved[w.outcome]
			}
			o.row[hcSatisfied] = satisfied[w.lastCB]
			continue
		}
		r := stream(h.seed, "history hotline outcome "+o.d.ext)
		o.row[hcResolved] = "是"
		if r.Float64() < 0.08 {
			o.row[hcResolved] = "否"
		}
		switch x := r.Float64(); {
		case x < 0.07:
			o.row[hcSatisfied] = "不满意"
		case x < 0.22:
			o.row[hcSatisfied] = "基本满意"
		default:
			o.row[hcSatisfied] = "满意"
		}
	}
}

// writeExports writes the orders into dir, a file a month (xlsx in even
// months, GBK CSV in odd ones), then the truth file, and records them in
// hi; written is called with each export's name as soon as it is written,
// in month order.
func (h *hotlineYear) writeExports(dir string, hi *HotlineImport, written func(name string)) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("demo: history: hotline exports: %w", err)
	}
	// a year loaded before (another End) leaves other months: they go
	old, err := filepath.Glob(filepath.Join(dir, "12345-*"))
	if err != nil {
		return fmt.Errorf("demo: history: hotline exports: %w", err)
	}
	for _, f := range old {
		if ext := filepath.Ext(f); ext == ".xlsx" || ext == ".csv" {
			if err := os.Remove(f); err != nil {
				return fmt.Errorf("demo: history: hotline exports: %w", err)
			}
		}
	}
	byMonth := map[string][]*hotlineOrder{}
	var months []string
	for _, o := range h.orders {
		if byMonth[o.month] == nil {
			months = append(months, o.month)
		}
		byMonth[o.month] = append(byMonth[o.month], o)
	}
	sort.Strings(months)
	file := map[*hotlineOrder]string{}
	for _, m := range months {
		orders := byMonth[m]
		var name string
		var err error
		if orders[0].xlsx {
			name = "12345-" + m + ".xlsx"
			err = writeFile(filepath.Join(dir, name), func(w io.Writer) error { return writeOrdersXLSX(w, orders) })
			hi.XLSX++
		} else {
			name = "12345-" + m + ".csv"
			err = writeFile(filepath.Join(dir, name), func(w io.Writer) error { return writeOrdersGBK(w, orders) })
			hi.CSV++
		}
		if err != nil {
			return fmt.Errorf("demo: history: hotline exports: %s: %w", name, err)
		}
		hi.Files = append(hi.Files, name)
		for _, o := range orders {
			file[o] = name
		}
		written(name)
	}
	hi.Truth = "12345-truth.csv"
	err = writeFile(filepath.Join(dir, hi.Truth), func(w io.Writer) error {
		cw := csv.NewWriter(w)
		if err := cw.Write(HotlineTruthHeader); err != nil {
			return err
		}
		for _, o := range h.orders {
			t := o.truth
			if err := cw.Write([]string{o.d.ext, file[o], string(t.kind), t.village, t.township, strconv.FormatFloat(t.lon, 'f', 7, 64),
				strconv.FormatFloat(t.lat, 'f', 7, 64), strconv.FormatBool(t.namesVillage)}); err != nil {
				return err
			}
		}
		cw.Flush()
		return cw.Error()
	})
	if err != nil {
		return fmt.Errorf("demo: history: hotline truth: %w", err)
	}
	hi.Orders = len(h.orders)
	return nil
}

func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

func writeOrdersXLSX(out io.Writer, orders []*hotlineOrder) error {
	cols := make([]xlsx.Column, len(hotlineXLSXHeader))
	for i, h := range hotlineXLSXHeader {
		cols[i] = xlsx.Column{Header: h, Kind: xlsx.Text}
	}
	w, err := xlsx.New("工单", cols, geo.Beijing)
	if err != nil {
		return err
	}
	defer func() { _ = w.Close() }()
	vals := make([]any, hcCount)
	for _, o := range orders {
		for i, v := range o.row {
			vals[i] = nil
			if v != "" {
				vals[i] = v
			}
		}
		if err := w.Row(vals...); err != nil {
			return err
		}
	}
	_, err = w.WriteTo(out)
	return err
}

func writeOrdersGBK(out io.Writer, orders []*hotlineOrder) error {
	tw := transform.NewWriter(out, simplifiedchinese.GBK.NewEncoder())
	cw := csv.NewWriter(tw)
	if err := cw.Write(hotlineCSVHeader); err != nil {
		return err
	}
	for _, o := range orders {
		if err := cw.Write(o.row); err != nil {
			return err
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	return tw.Close()
}

// exportAndImport writes the exports into hi.Dir and imports each as soon
// as it is written, while the next one is being written.
func (h *hotlineYear) exportAndImport(ctx context.Context, pool *pgxpool.Pool, hi *HotlineImport) (map[string]int64, error) {
	t := time.Now()
	ready := make(chan string, 64) // more than the months of a year: the writer never waits
	var written HotlineImport
	var werr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(ready)
		werr = h.writeExports(hi.Dir, &written, func(name string) { ready <- name })
	}()
	ids, err := h.importExports(ctx, pool, hi, ready)
	for range ready { // an import that failed leaves the rest unread
	}
	<-done
	hi.Files, hi.Truth, hi.XLSX, hi.CSV, hi.Orders = written.Files, written.Truth, written.XLSX, written.CSV, written.Orders
	hi.Took = time.Since(t)
	if werr != nil {
		return nil, werr
	}
	return ids, err
}

// importExports imports the exports named on files (in hi.Dir) through
// the hotline importer in history mode, file by file, as `whistlegrid
// import hotline FILE` does, and checks that every order came in once:
// none rejected, none a duplicate, the unplaced ones those the placement
// foresaw. It returns the imported clues' ids by 工单编号.
func (h *hotlineYear) importExports(ctx context.Context, pool *pgxpool.Pool, hi *HotlineImport, files <-chan string) (map[string]int64, error) {
	hi.Precisions = map[ingest.Precision]int64{}
	for name := range files {
		f, err := os.Open(filepath.Join(hi.Dir, name))
		if err != nil {
			return nil, fmt.Errorf("demo: history: hotline import: %w", err)
		}
		rep, err := h.im.ImportHotline(ctx, f, ingest.HotlineOptions{Mode: ingest.ModeHistory, FileName: name, By: "demo"})
		_ = f.Close()
		if err != nil {
			return nil, fmt.Errorf("demo: history: hotline import: %s: %w", name, err)
		}
		hi.Imported += rep.Imported
		hi.Duplicates += rep.Duplicates
		hi.Rejected += rep.Rejected
		hi.Unplaced += rep.Unplaced
		for p, n := range rep.Precisions {
			hi.Precisions[p] += n
		}
		if rep.Rejected > 0 || rep.Duplicates > 0 {
			first := ""
			if len(rep.Rejects) > 0 {
				first = fmt.Sprintf(" (row %d, %s: %s)", rep.Rejects[0].Line, rep.Rejects[0].Column, rep.Rejects[0].Reason)
			}
			return nil, fmt.Errorf("demo: history: hotline import: %s: %d rejected%s, %d duplicates", name, rep.Rejected, first, rep.Duplicates)
		}
	}
	unplaced := 0
	for _, o := range h.orders {
		if o.sim < 0 {
			unplaced++
		}
	}
	if hi.Imported != int64(len(h.orders)) || hi.Unplaced != int64(unplaced) {
		return nil, fmt.Errorf("demo: history: hotline import: %d of %d orders imported, %d unplaced (%d foreseen)",
			hi.Imported, len(h.orders), hi.Unplaced, unplaced)
	}
	ids := make(map[string]int64, len(h.orders)-unplaced)
	rows, err := pool.Query(ctx, `SELECT external_id, id FROM clues WHERE source = 'hotline'`)
	if err != nil {
		return nil, fmt.Errorf("demo: history: hotline import: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var ext string
		var id int64
		if err := rows.Scan(&ext, &id); err != nil {
			return nil, fmt.Errorf("demo: history: hotline import: %w", err)
		}
		ids[ext] = id
	}
	return ids, rows.Err()
}

// undoHotline removes what the hotline import wrote, when the rest of the
// year could not be written: the history is all there or none of it.
func undoHotline(ctx context.Context, pool *pgxpool.Pool) error {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback(ctx) }()
	for _, q := range []string{
		`DELETE FROM hotline_orders WHERE import_id IN (SELECT id FROM imports WHERE kind = 'hotline' AND started_by = 'demo')`,
		`DELETE FROM clues WHERE source = 'hotline' AND NOT EXISTS (SELECT 1 FROM hotline_orders h WHERE h.clue_id = clues.id)`,
		`DELETE FROM imports WHERE kind = 'hotline' AND started_by = 'demo'`,
	} {
		if _, err := tx.Exec(ctx, q); err != nil {
			return err
		}
	}
	return tx.Commit(ctx)
}

// hotlineDir is opts.ExportDir, or a temporary folder and the function
// that removes it.
func hotlineDir(dir string) (string, func(), error) {
	if dir != "" {
		return dir, func() {}, nil
	}
	tmp, err := os.MkdirTemp("", "whistlegrid-hotline-")
	if err != nil {
		return "", nil, fmt.Errorf("demo: history: a folder for the hotline exports: %w", err)
	}
	return tmp, func() { _ = os.RemoveAll(tmp) }, nil
}

// importHotline imports the exports and gives the simulation's clues
// their ids: the hotline's those the import gave them, the others the ids
// after the highest in use. A failed import is undone.
func (s *sim) importHotline(ctx context.Context, pool *pgxpool.Pool, h *hotlineYear, hi *HotlineImport) error {
	ids, err := h.exportAndImport(ctx, pool, hi)
	if err == nil {
		var base int64
		if err = pool.QueryRow(ctx, `SELECT coalesce(max(id), 0) FROM clues`).Scan(&base); err == nil {
			err = s.setIDs(ids, base)
		}
	}
	if err != nil {
		if uerr := undoHotline(context.WithoutCancel(ctx), pool); uerr != nil {
			return fmt.Errorf("%w (and undoing the import: %v)", err, uerr)
		}
	}
	return err
}
