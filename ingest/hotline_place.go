package ingest

import (
	"context"

	"github.com/paulmach/orb"

	"whistlegrid/geo"
	"whistlegrid/grid"
)

// OrderPlacement is where ImportHotline puts an order, as its clue will
// hold it: Placement's Chain is nil for an order that waits in the review
// queue (township or none), and starts at the village for one placed at
// village precision (AtVillage).
type OrderPlacement struct {
	OrderNo   string
	Precision Precision
	Method    string // coordinates or address
	Matched   string
	Reason    string
	Category  string // the platform's category code
	Placement grid.Placement
	AtVillage bool
	// Point is the clue's location (WGS-84); Received its coordinates as
	// the clue stores them, in Datum (the export's coordinates, or the
	// gazetteer's point in WGS-84).
	Point, Received orb.Point
	Datum           geo.Datum
	H3              int64
}

// RowPlacer parses and places the rows of a hotline export exactly as
// ImportHotline does (the same column resolution, parser, gazetteer and
// placement), and writes nothing. The demo uses it to know, before it
// simulates its year, where the import will put each order it writes.
type RowPlacer struct {
	im   *Importer
	cols columns
	cats *categoryResolver
	gaz  *Gazetteer
	dat  geo.Datum
}

// RowPlacer returns a RowPlacer for an export with header, read with the
// mapping m (nil: the synonyms and the platform's category names). A
// header without the required columns is refused as ImportHotline refuses
// it.
func (im *Importer) RowPlacer(ctx context.Context, header []string, m *Mapping) (*RowPlacer, error) {
	rp, _, err := im.rowPlacer(ctx, header, m)
	return rp, err
}

// rowPlacer is RowPlacer, with the category ids by code the import's
// writer needs.
func (im *Importer) rowPlacer(ctx context.Context, header []string, m *Mapping) (*RowPlacer, map[string]int64, error) {
	cols, err := resolveColumns(header, m)
	if err != nil {
		return nil, nil, invalid("file", "%v", err)
	}
	cats, catIDs, err := im.categories(ctx, m)
	if err != nil {
		return nil, nil, err
	}
	g, err := im.Gazetteer(ctx)
	if err != nil {
		return nil, nil, err
	}
	datum := geo.WGS84
	if m != nil && m.Datum != "" {
		datum, _ = geo.ParseDatum(m.Datum)
	}
	return &RowPlacer{im: im, cols: cols, cats: cats, gaz: g, dat: datum}, catIDs, nil
}

// place parses row and places it, or answers the row's Reject.
func (rp *RowPlacer) place(line int, row []string) (placed, *Reject) {
	o, rj := parseOrder(rp.cols, row, line, rp.cats, rp.dat)
	if rj != nil {
		return placed{}, rj
	}
	return rp.im.place(rp.gaz, o), nil
}

// Place parses row (line is its row number in the file) and places it; a
// row the import would reject is answered as its Reject. Safe for
// concurrent use.
func (rp *RowPlacer) Place(line int, row []string) (OrderPlacement, *Reject) {
	p, rj := rp.place(line, row)
	if rj != nil {
		return OrderPlacement{}, rj
	}
	return OrderPlacement{OrderNo: p.OrderNo, Precision: p.precision, Method: p.method, Matched: p.matched, Reason: p.reason,
		Category: p.Category, Placement: p.placement, AtVillage: p.atVillage, Point: p.wgs, Received: orb.Point(p.received),
		Datum: p.clueDatum, H3: p.h3}, nil
}
