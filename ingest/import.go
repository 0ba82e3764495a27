package ingest

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/paulmach/orb"

	"whistlegrid/access"
	"whistlegrid/fault"
	"whistlegrid/geo"
	"whistlegrid/grid"
	"whistlegrid/whistle"
)

// Mode is how hotline orders come in: ModeHistory stores past, closed
// orders with their outcome and satisfaction and runs no rules; ModeLive
// puts every placed order through the whistle intake, like POST
// /api/v1/clues.
type Mode string

// The modes of a hotline import.
const (
	ModeHistory Mode = "history"
	ModeLive    Mode = "live"
)

// ParseMode reads a --mode flag ("" is history).
func ParseMode(s string) (Mode, error) {
	switch Mode(s) {
	case "", ModeHistory:
		return ModeHistory, nil
	case ModeLive:
		return ModeLive, nil
	}
	return "", invalid("mode", "mode must be history or live, got %q", s)
}

// Importer brings files in: hotline exports and places (and the kinds
// other importers add). The CLI and the API call the same methods.
type Importer struct {
	pool     *pgxpool.Pool
	placer   *grid.Placer
	whistles *whistle.Store
	now      func() time.Time

	mu  sync.Mutex
	gaz *Gazetteer
}

// NewImporter returns an Importer placing with placer; whistles takes
// the live orders in.
func NewImporter(pool *pgxpool.Pool, placer *grid.Placer, whistles *whistle.Store) *Importer {
	return &Importer{pool: pool, placer: placer, whistles: whistles, now: time.Now}
}

// Gazetteer returns the gazetteer, loading it on first use.
func (im *Importer) Gazetteer(ctx context.Context) (*Gazetteer, error) {
	im.mu.Lock()
	defer im.mu.Unlock()
	if im.gaz != nil {
		return im.gaz, nil
	}
	g, err := LoadGazetteer(ctx, im.pool, func(p orb.Point) (string, bool) {
		pl, err := im.placer.Place(p)
		if err != nil || len(pl.Chain) < 2 {
			return "", false
		}
		return pl.Chain[1].Code, true
	})
	if err != nil {
		return nil, err
	}
	im.gaz = g
	return g, nil
}

// Forget drops the loaded gazetteer (after places or grids change): the
// next use reloads it.
func (im *Importer) Forget() {
	im.mu.Lock()
	im.gaz = nil
	im.mu.Unlock()
}

// HotlineOptions tune ImportHotline.
type HotlineOptions struct {
	Mode     Mode
	DryRun   bool
	Encoding Encoding
	Mapping  *Mapping // nil: the synonyms and the platform's category names only
	FileName string
	// By is who imports (a username, or "cli"); Scope is the scope live
	// orders go through intake with (the command center's).
	By    string
	Scope access.Scope
	// ImportID is the imports row to report into (Begin); 0 makes one
	// unless DryRun.
	ImportID int64
	// Progress, when set, is called after every batch.
	Progress func(rows int64)
	// Rejects, when set, receives the rejects file: CSV row,column,reason.
	Rejects io.Writer
	// BatchSize is the rows read, placed and written at a time (default
	// 5,000).
	BatchSize int
	// Writers is how many connections write a history batch at once
	// (default 2), each its share of the orders by 工单编号 in a
	// transaction of its own.
	Writers int
}

// Report is what an import did (or, on a dry run, would do).
type Report struct {
	ID       int64  `json:"id,omitempty"`
	Kind     string `json:"kind"`
	Mode     Mode   `json:"mode,omitempty"`
	DryRun   bool   `json:"dry_run"`
	File     string `json:"file"`
	Encoding string `json:"encoding,omitempty"`
	// Read rows; Imported new ones stored (placed or not); Duplicates
	// already stored or repeated in the file; Rejected refused rows;
	// Unplaced imported rows waiting in the review queue.
	Read       int64               `json:"read"`
	Imported   int64               `json:"imported"`
	Duplicates int64               `json:"duplicates"`
	Rejected   int64               `json:"rejected"`
	Unplaced   int64               `json:"unplaced"`
	Precisions map[Precision]int64 `json:"precisions"`
	// Rejects are the first MaxReportRejects rejects; the rejects file
	// (CLI) or GET /api/v1/imports/{id}/rejects has them all.
	Rejects []Reject `json:"rejects"`
	// Message says in a sentence what happened, e.g. that nothing changed.
	Message string  `json:"message"`
	Seconds float64 `json:"seconds"`
}

// MaxReportRejects is how many rejects a Report lists; Rejected counts
// them all.
const MaxReportRejects = 100

func (r *Report) reject(rj Reject, w *csv.Writer) {
	r.Rejected++
	if len(r.Rejects) < MaxReportRejects {
		r.Rejects = append(r.Rejects, rj)
	}
	if w != nil {
		_ = w.Write([]string{strconv.Itoa(rj.Line), rj.Column, rj.Reason})
	}
}

func (r *Report) finish(start time.Time) {
	r.Seconds = time.Since(start).Seconds()
	switch {
	case r.DryRun:
		r.Message = fmt.Sprintf("dry run: %d rows would be imported (%d unplaced), %d are duplicates, %d rejected; nothing was written", r.Imported, r.Unplaced, r.Duplicates, r.Rejected)
	case r.Imported == 0:
		r.Message = fmt.Sprintf("nothing changed: %d rows already imported, %d rejected", r.Duplicates, r.Rejected)
	default:
		r.Message = fmt.Sprintf("%d rows imported (%d unplaced, waiting in the review queue), %d duplicates, %d rejected", r.Imported, r.Unplaced, r.Duplicates, r.Rejected)
	}
}

// Begin records an import about to run (kind, file, mode) and returns its
// id: the API answers it at once and the import reports into it.
func (im *Importer) Begin(ctx context.Context, kind, file, mode, by string) (int64, error) {
	var id int64
	err := im.pool.QueryRow(ctx, `INSERT INTO imports (kind, file_name, mode, started_by) VALUES ($1, $2, $3, $4) RETURNING id`,
		kind, file, mode, by).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("ingest: begin import: %w", err)
	}
	return id, nil
}

// End records an import's report (or its failure).
func (im *Importer) End(ctx context.Context, id int64, rep *Report, failure error) {
	status := "done"
	var report any = rep
	if failure != nil {
		status = "failed"
		report = map[string]string{"error": failure.Error()}
	}
	_, _ = im.pool.Exec(ctx, `UPDATE imports SET status = $2, report = $3, finished_at = now(), rows_read = coalesce($4, rows_read) WHERE id = $1`,
		id, status, report, readOf(rep))
}

func readOf(r *Report) *int64 {
	if r == nil {
		return nil
	}
	return &r.Read
}

// placed is an order with where it goes.
type placed struct {
	Order
	precision   Precision
	method      string
	matched     string
	reason      string
	townshipID  *int64
	wgs         orb.Point
	h3          int64
	placement   grid.Placement // Chain nil: unplaced
	atVillage   bool
	received    [2]float64
	clueDatum   geo.Datum
	clueID      int64 // a history clue's id, drawn for its batch in file order
	duplicate   bool
	intakeError *Reject
}

// place decides where an order goes: its coordinates in their datum when
// it has them and they fall in the district, else its address through
// the gazetteer.
func (im *Importer) place(g *Gazetteer, o Order) placed {
	p := placed{Order: o, precision: PrecisionNone, method: "address"}
	var why string
	if o.Coords != nil {
		wgs, err := geo.WGS84Point(o.Coords[0], o.Coords[1], o.Datum)
		if err == nil {
			if pl, err := im.placer.Place(wgs); err == nil {
				p.precision, p.method, p.wgs, p.placement = PrecisionHousehold, "coordinates", wgs, pl
				p.h3 = geo.H3Cell(wgs, geo.DefaultH3Res)
				p.matched = fmt.Sprintf("%.6f,%.6f %s", o.Coords[0], o.Coords[1], o.Datum)
				p.received, p.clueDatum = *o.Coords, o.Datum
				t := linkAt(pl.Chain, grid.LevelTownship).ID
				p.townshipID = &t
				return p
			}
			why = fmt.Sprintf("the coordinates %.6f,%.6f (%s) are outside the district's grids; ", o.Coords[0], o.Coords[1], o.Datum)
		}
	}
	m := g.Match(o.Address, o.Township, o.Village)
	p.precision, p.matched, p.reason = m.Precision, m.Matched, why+m.Reason
	if m.Township != nil {
		id := m.Township.ID
		p.townshipID = &id
	}
	switch m.Precision {
	case PrecisionHousehold, PrecisionPlace, PrecisionVillage:
		pl, err := im.placer.Place(m.Point)
		if err != nil {
			p.precision, p.reason = PrecisionTownship, fmt.Sprintf("the point of %s is outside the district's grids", m.Matched)
			return p
		}
		if m.Precision == PrecisionVillage && len(pl.Chain) > 1 && pl.Chain[1].Level == grid.LevelVillage {
			pl.Chain = pl.Chain[1:]
			p.atVillage = true
		}
		p.wgs, p.placement, p.received, p.clueDatum = m.Point, pl, [2]float64(m.Point), geo.WGS84
		p.h3 = geo.H3Cell(m.Point, geo.DefaultH3Res)
	}
	return p
}

func linkAt(chain []grid.Link, l grid.Level) grid.Link {
	for _, c := range chain {
		if c.Level == l {
			return c
		}
	}
	return grid.Link{}
}

// ImportHotline reads a hotline export (xlsx, or CSV in UTF-8 or GBK) and
// imports its orders, once per 工单编号: each batch is one transaction, so
// an import killed halfway and run again imports every row exactly once.
// A file without the required columns is refused (ErrInvalid naming them)
// before any row is read.
func (im *Importer) ImportHotline(ctx context.Context, r io.Reader, opts HotlineOptions) (*Report, error) {
	start := time.Now()
	if opts.Mode == "" {
		opts.Mode = ModeHistory
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 5000
	}
	if opts.Writers <= 0 {
		opts.Writers = 2
	}
	if opts.Mode == ModeLive && im.whistles == nil {
		return nil, fault.Errorf(ErrUnavailable, "live imports need the whistle intake")
	}
	t, err := OpenTable(r, opts.Encoding)
	if err != nil {
		return nil, invalid("file", "%v", err)
	}
	defer t.Close()
	rp, catIDs, err := im.rowPlacer(ctx, t.Header(), opts.Mapping)
	if err != nil {
		return nil, err
	}
	rep := &Report{Kind: "hotline", Mode: opts.Mode, DryRun: opts.DryRun, File: opts.FileName, Encoding: string(t.Encoding()),
		Precisions: map[Precision]int64{}, Rejects: []Reject{}}
	for _, p := range Precisions {
		rep.Precisions[p] = 0
	}
	var rw *csv.Writer
	if opts.Rejects != nil {
		rw = csv.NewWriter(opts.Rejects)
		_ = rw.Write([]string{"row", "column", "reason"})
		defer rw.Flush()
	}
	if !opts.DryRun && opts.ImportID == 0 {
		if opts.ImportID, err = im.Begin(ctx, "hotline", opts.FileName, string(opts.Mode), opts.By); err != nil {
			return nil, err
		}
		defer func() { im.End(context.WithoutCancel(ctx), opts.ImportID, rep, err) }()
	}
	rep.ID = opts.ImportID

	w, err := im.newWriter(ctx, opts, catIDs)
	if err != nil {
		return nil, err
	}
	defer w.close()
	seen := map[string]struct{}{} // a dry run's order numbers
	write := func(c *chunk) error {
		var err error
		if len(c.placed) > 0 {
			if opts.DryRun {
				err = w.dryRun(ctx, c.placed, seen)
			} else if opts.Mode == ModeLive {
				err = w.live(ctx, c.placed)
			} else {
				err = w.history(ctx, c.placed, rep.Read+int64(c.read))
			}
		}
		if err != nil {
			return err
		}
		rep.Read += int64(c.read)
		for _, rj := range c.rejects {
			rep.reject(rj, rw)
		}
		for _, p := range c.placed {
			switch {
			case p.intakeError != nil:
				rep.reject(*p.intakeError, rw)
			case p.duplicate:
				rep.Duplicates++
			default:
				rep.Imported++
				rep.Precisions[p.precision]++
				if p.placement.Chain == nil {
					rep.Unplaced++
				}
			}
		}
		if opts.Progress != nil {
			opts.Progress(rep.Read)
		}
		return nil
	}
	_, isXLSX := t.(*xlsxTable)
	if err = im.pipeline(ctx, t, isXLSX, opts.BatchSize, func(c *chunk) {
		for _, r := range c.raw {
			if r.err != nil {
				// a row the reader cannot split is rejected; the file goes on
				c.rejects = append(c.rejects, Reject{Line: r.line, Column: "", Reason: r.err.Error()})
				continue
			}
			p, rj := rp.place(r.line, r.row)
			if rj != nil {
				c.rejects = append(c.rejects, *rj)
				continue
			}
			c.placed = append(c.placed, p)
		}
		c.raw = nil
	}, write); err != nil {
		return nil, err
	}
	rep.finish(start)
	return rep, nil
}

// rawRow is a row as read, or the reader's error for it.
type rawRow struct {
	line int
	row  []string
	err  error
}

// chunk is a batch of rows on their way: read, then parsed and placed by
// a worker, then written, in the file's order.
type chunk struct {
	seq     int
	read    int // rows read (each becomes a placed order or a reject)
	raw     []rawRow
	placed  []placed
	rejects []Reject // in line order
}

// pipeline reads t in chunks of size rows on this goroutine's behalf,
// works each chunk (parse, normalise, match, place: the CPU's share) on
// GOMAXPROCS workers at once, and hands the chunks to write one at a
// time in the file's order: the database writes a chunk while the workers
// place the next ones. An xlsx the reader cannot go on with fails the
// import (the chunks before it are written); a CSV row it cannot split
// is a reject and the file goes on.
func (im *Importer) pipeline(ctx context.Context, t Table, stopOnRowError bool, size int, work func(*chunk), write func(*chunk) error) error {
	ctx, cancel := context.WithCancel(ctx)
	workers := max(1, runtime.GOMAXPROCS(0))
	todo := make(chan *chunk, workers)
	done := make(chan *chunk, workers)
	var readErr error
	var wg sync.WaitGroup
	// the goroutines end before the table is closed (the caller's defer)
	defer func() { cancel(); wg.Wait() }()
	wg.Add(1)
	go func() { // the reader
		defer wg.Done()
		defer close(todo)
		c := &chunk{}
		send := func() bool {
			select {
			case todo <- c:
			case <-ctx.Done():
				return false
			}
			c = &chunk{seq: c.seq + 1}
			return true
		}
		for {
			row, line, err := t.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil && stopOnRowError {
				readErr = invalid("file", "%v", err)
				break
			}
			c.read++
			c.raw = append(c.raw, rawRow{line: line, row: slices.Clone(row), err: err})
			if len(c.raw) == size && !send() {
				return
			}
		}
		if c.read > 0 {
			send()
		}
	}()
	var workersWG sync.WaitGroup
	for range workers {
		wg.Add(1)
		workersWG.Add(1)
		go func() {
			defer wg.Done()
			defer workersWG.Done()
			for c := range todo {
				work(c)
				select {
				case done <- c:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	go func() { workersWG.Wait(); close(done) }()
	pending := map[int]*chunk{}
	next := 0
	for c := range done {
		pending[c.seq] = c
		for pending[next] != nil {
			c := pending[next]
			delete(pending, next)
			next++
			if err := write(c); err != nil {
				return err
			}
			if err := ctx.Err(); err != nil {
				return err
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	// every chunk read was written: readErr, if any, came after them
	return readErr
}

// categories loads the resolver of category texts and the ids of the
// platform's categories by code.
func (im *Importer) categories(ctx context.Context, m *Mapping) (*categoryResolver, map[string]int64, error) {
	rows, err := im.pool.Query(ctx, `SELECT id, code, name FROM categories`)
	if err != nil {
		return nil, nil, fmt.Errorf("ingest: categories: %w", err)
	}
	ids := map[string]int64{}
	r := &categoryResolver{byName: map[string][]string{}, mapping: map[string]string{}}
	for rows.Next() {
		var id int64
		var code, name string
		if err := rows.Scan(&id, &code, &name); err != nil {
			rows.Close()
			return nil, nil, fmt.Errorf("ingest: categories: %w", err)
		}
		ids[code] = id
		r.byName[name] = append(r.byName[name], code)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("ingest: categories: %w", err)
	}
	r.known = func(c string) bool { _, ok := ids[c]; return ok }
	if m != nil {
		for k, v := range m.Categories {
			if _, ok := ids[v]; !ok {
				return nil, nil, invalid("mapping", "the mapping file maps %q to %q, which is not a category of the platform", k, v)
			}
			r.mapping[k] = v
		}
	}
	return r, ids, nil
}

// writer writes batches of placed orders.
type writer struct {
	im     *Importer
	opts   HotlineOptions
	catIDs map[string]int64
	lanes  []*lane // history: one per connection
}

// lane is one connection of a history import, with its stage.
type lane struct {
	conn *pgxpool.Conn
	rows []int // the batch's rows this lane writes
	row  []any // the stage row being encoded (CopyFrom encodes one row at a time)
}

func (im *Importer) newWriter(ctx context.Context, opts HotlineOptions, catIDs map[string]int64) (*writer, error) {
	w := &writer{im: im, opts: opts, catIDs: catIDs}
	if opts.DryRun || opts.Mode == ModeLive {
		return w, nil
	}
	for range opts.Writers {
		conn, err := im.pool.Acquire(ctx)
		if err != nil {
			w.close()
			return nil, fmt.Errorf("ingest: %w", err)
		}
		w.lanes = append(w.lanes, &lane{conn: conn, row: make([]any, len(stageColumns))})
		if _, err := conn.Exec(ctx, createStage); err != nil {
			w.close()
			return nil, fmt.Errorf("ingest: stage: %w", err)
		}
	}
	return w, nil
}

func (w *writer) close() {
	for _, l := range w.lanes {
		l.conn.Release()
	}
}

// dryRun marks the duplicates of a batch: stored already, or seen before
// in the file.
func (w *writer) dryRun(ctx context.Context, batch []placed, seen map[string]struct{}) error {
	nos := make([]string, len(batch))
	for i, p := range batch {
		nos[i] = p.OrderNo
	}
	stored := map[string]bool{}
	rows, err := w.im.pool.Query(ctx, `SELECT order_no FROM hotline_orders WHERE order_no = ANY($1)`, nos)
	if err != nil {
		return fmt.Errorf("ingest: dry run: %w", err)
	}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			rows.Close()
			return fmt.Errorf("ingest: dry run: %w", err)
		}
		stored[s] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("ingest: dry run: %w", err)
	}
	for i := range batch {
		if _, dup := seen[batch[i].OrderNo]; dup || stored[batch[i].OrderNo] {
			batch[i].duplicate = true
			continue
		}
		seen[batch[i].OrderNo] = struct{}{}
	}
	return nil
}

// createStage is the connection's staging table of history batches.
const createStage = `
CREATE TEMP TABLE IF NOT EXISTS hotline_stage (
    line int, order_no text, received_at timestamptz, caller_name text, caller_phone text, address text,
    content text, category_id bigint, category_text text, handler text, due_at timestamptz, resolved boolean,
    satisfaction text, precision text, method text, matched text, reason text, township_id bigint,
    received_lon float8, received_lat float8, datum text, lon float8, lat float8, h3 bigint,
    grid_id bigint, grid_level text, edge_m float8, near_edge boolean, new_clue bigint
) ON COMMIT DELETE ROWS`

var stageColumns = []string{"line", "order_no", "received_at", "caller_name", "caller_phone", "address",
	"content", "category_id", "category_text", "handler", "due_at", "resolved",
	"satisfaction", "precision", "method", "matched", "reason", "township_id",
	"received_lon", "received_lat", "datum", "lon", "lat", "h3",
	"grid_id", "grid_level", "edge_m", "near_edge", "new_clue"}

// historyBatch stores the stage's orders not stored before, in one
// statement whoever runs it (no trigger of clues runs per row: migration
// 00021): each placed order as a clue of source hotline with no rule run
// (no whistle), its grid level the placement's, its phone hash the
// generated column's; then every order, linked to its clue. A repeated
// 工单编号 keeps its first line. The clue ids were drawn from the sequence
// for the whole batch in file order (history), so the orders name their
// clues without joining the clues inserted, and the ids follow the file
// whichever lane writes first (a clue already stored under the number is
// reused). ON
// CONFLICT keeps two imports of one file at once from storing an order
// twice. It returns the order numbers stored.
const historyBatch = `
WITH fresh AS (
    SELECT s.*, CASE WHEN s.grid_id IS NOT NULL THEN
            (SELECT k.id FROM clues k WHERE k.source = 'hotline' AND k.external_id = s.order_no) END AS old_clue
    FROM (SELECT DISTINCT ON (order_no) * FROM hotline_stage ORDER BY order_no, line) s
    WHERE NOT EXISTS (SELECT 1 FROM hotline_orders h WHERE h.order_no = s.order_no)
), placed AS MATERIALIZED (
    SELECT f.*, coalesce(f.old_clue, f.new_clue) AS clue_id
    FROM fresh f
), clue AS (
    INSERT INTO clues (id, source, external_id, category_id, text, received_lon, received_lat, datum, location, h3,
        grid_id, grid_level, township_id, boundary_distance_m, near_edge, reported_at, received_at, reporter_name, reporter_phone)
    SELECT p.clue_id, 'hotline', p.order_no, p.category_id, p.content, p.received_lon, p.received_lat, p.datum,
        ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326), p.h3, p.grid_id, p.grid_level, p.township_id, p.edge_m, p.near_edge,
        p.received_at, $2, nullif(p.caller_name, ''), nullif(p.caller_phone, '')
    FROM placed p WHERE p.grid_id IS NOT NULL AND p.old_clue IS NULL
    ON CONFLICT (source, external_id) DO NOTHING
)
INSERT INTO hotline_orders (order_no, import_id, mode, received_at, caller_name, caller_phone, address, content,
    category_id, category_text, handler, due_at, resolved, satisfaction, precision, method, matched, reason,
    township_id, clue_id)
SELECT p.order_no, $1, 'history', p.received_at, nullif(p.caller_name, ''), nullif(p.caller_phone, ''),
    p.address, p.content, p.category_id, p.category_text, p.handler, p.due_at, p.resolved, p.satisfaction,
    p.precision, p.method, p.matched, p.reason, p.township_id, p.clue_id
FROM placed p
ON CONFLICT (order_no) DO NOTHING
RETURNING order_no`

// history writes a batch: each lane its orders (by a hash of the
// 工单编号, so the lines of one number go to one lane, in the file's
// order) at the same time, each in one transaction: COPY into its stage,
// then historyBatch. When all are in, the import's progress. A batch cut
// short (an error, a kill) is whole in the lanes that committed and absent
// from the others: a re-run stores the rest, each order once.
func (w *writer) history(ctx context.Context, batch []placed, read int64) error {
	for _, l := range w.lanes {
		l.rows = l.rows[:0]
	}
	if err := w.drawClueIDs(ctx, batch); err != nil {
		return err
	}
	for i := range batch {
		h := fnv.New32a()
		_, _ = h.Write([]byte(batch[i].OrderNo))
		l := w.lanes[h.Sum32()%uint32(len(w.lanes))]
		l.rows = append(l.rows, i)
	}
	errs := make([]error, len(w.lanes))
	var wg sync.WaitGroup
	for i, l := range w.lanes {
		if len(l.rows) == 0 {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = w.write(ctx, l, batch)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if _, err := w.im.pool.Exec(ctx, `UPDATE imports SET rows_read = $2 WHERE id = $1`, w.opts.ImportID, read); err != nil {
		return fmt.Errorf("ingest: history: progress: %w", err)
	}
	return nil
}

// drawClueIDs gives every placed order of batch a clue id, ascending in
// the file's order, so that the ids do not depend on which lane commits
// first (a re-run, or a number stored already, leaves its id unused: a
// gap in the sequence, as a rolled-back insert leaves).
func (w *writer) drawClueIDs(ctx context.Context, batch []placed) error {
	n := 0
	for i := range batch {
		if batch[i].placement.Chain != nil {
			n++
		}
	}
	if n == 0 {
		return nil
	}
	rows, err := w.im.pool.Query(ctx, `SELECT nextval('clues_id_seq') FROM generate_series(1, $1::int)`, n)
	if err != nil {
		return fmt.Errorf("ingest: history: clue ids: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return fmt.Errorf("ingest: history: clue ids: %w", err)
	}
	slices.Sort(ids)
	k := 0
	for i := range batch {
		if batch[i].placement.Chain != nil {
			batch[i].clueID = ids[k]
			k++
		}
	}
	return nil
}

// write stores l's rows of batch in one transaction and marks those not
// stored (stored before, or an earlier line of the same number) as
// duplicates.
func (w *writer) write(ctx context.Context, l *lane, batch []placed) error {
	tx, err := l.conn.Begin(ctx)
	if err != nil {
		return fmt.Errorf("ingest: history: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"hotline_stage"}, stageColumns, pgx.CopyFromSlice(len(l.rows), func(i int) ([]any, error) {
		return w.stageRow(l.row, &batch[l.rows[i]]), nil
	})); err != nil {
		return fmt.Errorf("ingest: history: stage: %w", err)
	}
	stored, err := returnedLines(tx.Query(ctx, historyBatch, w.opts.ImportID, w.im.now()))
	if err != nil {
		return fmt.Errorf("ingest: history: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("ingest: history: %w", err)
	}
	first := map[string]bool{}
	for _, i := range l.rows {
		no := batch[i].OrderNo
		if stored[no] && !first[no] {
			first[no] = true
			continue
		}
		batch[i].duplicate = true
	}
	return nil
}

func returnedLines(rows pgx.Rows, err error) (map[string]bool, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out[s] = true
	}
	return out, rows.Err()
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// stageRow is p as a row of the stage, in row (reused: CopyFrom encodes
// each row before it asks for the next).
func (w *writer) stageRow(row []any, p *placed) []any {
	row[0], row[1], row[2], row[3], row[4], row[5] = int32(p.Line), p.OrderNo, p.Received, p.Caller, p.Phone, p.Address
	row[6], row[7], row[8], row[9], row[10], row[11] = p.Content, w.catIDs[p.Category], p.CategoryText, p.Handler, p.Due, p.Resolved
	row[12], row[13], row[14], row[15], row[16], row[17] = p.Satisfaction, string(p.precision), p.method, p.matched, p.reason, p.townshipID
	for i := 18; i < len(row); i++ {
		row[i] = nil
	}
	if p.placement.Chain != nil {
		ch := p.placement.Chain
		row[18], row[19], row[20] = p.received[0], p.received[1], string(p.clueDatum)
		row[21], row[22], row[23] = p.wgs[0], p.wgs[1], p.h3
		row[24], row[25], row[26], row[27] = ch[0].ID, string(ch[0].Level), p.placement.EdgeDistanceM, p.placement.NearEdge
		row[28] = p.clueID
	}
	return row
}

// liveWorkers is how many live orders go through intake at once (the
// intake groups them into shared transactions).
const liveWorkers = 8

// live puts a batch through intake, order by order, then stores the
// orders; an order the intake refuses is rejected with its reason.
func (w *writer) live(ctx context.Context, batch []placed) error {
	nos := make([]string, len(batch))
	for i, p := range batch {
		nos[i] = p.OrderNo
	}
	stored, err := returnedLines(w.im.pool.Query(ctx, `SELECT order_no FROM hotline_orders WHERE order_no = ANY($1)`, nos))
	if err != nil {
		return fmt.Errorf("ingest: live: %w", err)
	}
	var next atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	for range liveWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(batch) {
					return
				}
				p := &batch[i]
				if stored[p.OrderNo] {
					p.duplicate = true
					continue
				}
				if err := w.liveOne(ctx, p); err != nil {
					once.Do(func() { firstErr = err })
					return
				}
			}
		}()
	}
	wg.Wait()
	return firstErr
}

const insertLiveOrder = `
INSERT INTO hotline_orders (order_no, import_id, mode, received_at, caller_name, caller_phone, address, content,
    category_id, category_text, handler, due_at, resolved, satisfaction, precision, method, matched, reason,
    township_id, clue_id)
VALUES ($1, $2, 'live', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
ON CONFLICT (order_no) DO NOTHING`

func (w *writer) liveOne(ctx context.Context, p *placed) error {
	var clueID *int64
	if p.placement.Chain != nil {
		lon, lat := p.received[0], p.received[1]
		in := whistle.ClueInput{Source: "hotline", ExternalID: p.OrderNo, Category: p.Category, Text: p.Content,
			Lon: &lon, Lat: &lat, Datum: string(p.clueDatum), ReportedAt: p.Received.Format(time.RFC3339), AtVillage: p.atVillage}
		if p.Caller != "" || p.Phone != "" {
			in.Reporter = &whistle.Reporter{Name: p.Caller, Phone: p.Phone}
		}
		res, err := w.im.whistles.Intake(ctx, w.opts.Scope, in)
		var fe *fault.Error
		if errors.As(err, &fe) && fe.Kind == fault.Invalid {
			p.intakeError = &Reject{Line: p.Line, Column: intakeColumn(fe.Field), Reason: fe.Message}
			return nil
		}
		if err != nil {
			return fmt.Errorf("ingest: live: row %d: %w", p.Line, err)
		}
		id := res.Clue.ID
		clueID = &id
	}
	tag, err := w.im.pool.Exec(ctx, insertLiveOrder, p.OrderNo, w.opts.ImportID, p.Received, nullString(p.Caller), nullString(p.Phone),
		p.Address, p.Content, w.catIDs[p.Category], p.CategoryText, p.Handler, p.Due, p.Resolved, p.Satisfaction,
		string(p.precision), p.method, p.matched, p.reason, p.townshipID, clueID)
	if err != nil {
		return fmt.Errorf("ingest: live: row %d: %w", p.Line, err)
	}
	p.duplicate = tag.RowsAffected() == 0
	return nil
}

// intakeColumn names the export's column of an intake field at fault.
func intakeColumn(field string) string {
	switch field {
	case "reported_at":
		return string(ColReceived)
	case "reporter.phone":
		return string(ColPhone)
	case "reporter.name":
		return string(ColCaller)
	case "text":
		return string(ColContent)
	case "category":
		return string(ColCategory1)
	case "lon", "lat":
		return string(ColLon)
	}
	return field
}
