package demo_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/text/encoding/simplifiedchinese"

	"whistlegrid/access"
	"whistlegrid/demo"
	"whistlegrid/ingest"
)

// checkHotline checks, on a loaded year, that its hotline orders came in
// through the exports and the importer: both kinds of file written and
// imported, every hotline clue an imported order, no order rejected,
// repeated or dropped (the unplaced ones in the review queue), and the
// placement measured against the truth the demo wrote beside the exports.
func checkHotline(t *testing.T, ctx context.Context, pool *pgxpool.Pool, sum demo.HistorySummary) {
	h := sum.Hotline
	count := counter(t, ctx, pool)
	t.Logf("hotline: %d orders in %d files (%d xlsx, %d GBK CSV), %d imported, %d unplaced, %d duplicates, %d rejected, precisions %v, in %v",
		h.Orders, len(h.Files), h.XLSX, h.CSV, h.Imported, h.Unplaced, h.Duplicates, h.Rejected, h.Precisions, h.Took)

	// the files: both kinds, as the importer reads them
	if h.XLSX == 0 || h.CSV == 0 || len(h.Files) != h.XLSX+h.CSV {
		t.Fatalf("files %v: %d xlsx, %d CSV; want both kinds", h.Files, h.XLSX, h.CSV)
	}
	for _, name := range h.Files {
		b, err := os.ReadFile(filepath.Join(h.Dir, name))
		if err != nil {
			t.Fatal(err)
		}
		switch filepath.Ext(name) {
		case ".xlsx":
			if !bytes.HasPrefix(b, []byte("PK\x03\x04")) {
				t.Errorf("%s is not an xlsx (zip)", name)
			}
		case ".csv":
			head, _, _ := bytes.Cut(b, []byte("\n"))
			dec, err := simplifiedchinese.GBK.NewDecoder().Bytes(head)
			if utf8.Valid(b) || err != nil || !strings.HasPrefix(string(dec), "工单号,来电时间") {
				t.Errorf("%s is not GBK with the synonyms' header: %q (%v)", name, dec, err)
			}
		default:
			t.Errorf("%s: neither xlsx nor CSV", name)
		}
	}

	// every row came in once; none rejected, none dropped
	if h.Orders == 0 || h.Imported != int64(h.Orders) || h.Duplicates != 0 || h.Rejected != 0 {
		t.Errorf("%d orders written, %d imported, %d duplicates, %d rejected", h.Orders, h.Imported, h.Duplicates, h.Rejected)
	}
	if n := count(`SELECT count(*) FROM imports WHERE kind = 'hotline' AND status = 'done' AND mode = 'history'`); n != len(h.Files) {
		t.Errorf("%d hotline imports done, want one per file (%d)", n, len(h.Files))
	}
	if n := count(`SELECT count(*) FROM hotline_orders WHERE mode = 'history'`); n != h.Orders {
		t.Errorf("%d hotline orders stored, %d written", n, h.Orders)
	}
	clues := count(`SELECT count(*) FROM clues WHERE source = 'hotline'`)
	if clues != sum.BySource["hotline"] || int64(clues) != h.Imported-h.Unplaced || clues == 0 {
		t.Errorf("%d hotline clues (summary %d), want the %d imported orders less the %d unplaced", clues, sum.BySource["hotline"], h.Imported, h.Unplaced)
	}
	if n := count(`SELECT count(*) FROM clues c WHERE c.source = 'hotline'
		AND NOT EXISTS (SELECT 1 FROM hotline_orders o WHERE o.clue_id = c.id AND o.order_no = c.external_id)`); n != 0 {
		t.Errorf("%d hotline clues from no imported order", n)
	}
	if h.Unplaced == 0 || h.Unplaced > int64(h.Orders)/4 {
		t.Errorf("%d of %d orders unplaced, want some and not a quarter", h.Unplaced, h.Orders)
	}
	var cmd int64
	if err := pool.QueryRow(ctx, `SELECT id FROM users WHERE username = 'command'`).Scan(&cmd); err != nil {
		t.Fatal(err)
	}
	im := ingest.NewImporter(pool, nil, nil)
	if _, total, err := im.Unplaced(ctx, access.Scope{Role: access.RoleCommand, Username: "command", UserID: cmd}, 10, 0); err != nil || int64(total) != h.Unplaced {
		t.Errorf("the review queue holds %d orders (%v), want the %d unplaced", total, err, h.Unplaced)
	}
	// the exports carry the simulation's outcomes
	if n := count(`SELECT count(*) FROM hotline_orders o JOIN clues c ON c.id = o.clue_id JOIN whistles w ON w.id = c.whistle_id
		WHERE w.status = 'closed' AND o.resolved IS DISTINCT FROM (w.outcome = 'resolved')`); n != 0 {
		t.Errorf("%d orders whose 是否解决 is not their whistle's outcome", n)
	}
	if n := count(`SELECT count(*) FROM hotline_orders o JOIN clues c ON c.id = o.clue_id JOIN whistles w ON w.id = c.whistle_id
		WHERE w.status = 'closed' AND o.satisfaction = '不满意'`); n == 0 {
		t.Error("no closed whistle's order answered 不满意")
	}

	// against the truth
	f, err := os.Open(filepath.Join(h.Dir, h.Truth))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	truth, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(truth)-1 != h.Orders || strings.Join(truth[0], ",") != strings.Join(demo.HotlineTruthHeader, ",") {
		t.Fatalf("truth: %d rows, header %v, for %d orders", len(truth)-1, truth[0], h.Orders)
	}
	type landed struct{ precision, village, township, address, matched, reason string }
	got := map[string]landed{}
	rows, err := pool.Query(ctx, `
		SELECT o.order_no, o.precision, coalesce(v.code, ''), coalesce(t.code, ''), o.address, o.matched, o.reason
		FROM hotline_orders o
		LEFT JOIN clues c ON c.id = o.clue_id
		LEFT JOIN grids g ON g.id = c.grid_id
		LEFT JOIN grids v ON v.id = CASE WHEN g.level = 'village' THEN g.id ELSE g.parent_id END
		LEFT JOIN grids t ON t.id = c.township_id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var no string
		var l landed
		if err := rows.Scan(&no, &l.precision, &l.village, &l.township, &l.address, &l.matched, &l.reason); err != nil {
			t.Fatal(err)
		}
		got[no] = l
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	fine := map[string]bool{"household": true, "place": true, "village": true}
	kinds := map[string]int{}
	var naming, inVillage, wrongTown, wrongVillage int
	missed := map[string]int{} // kind/precision of the orders naming their village that did not land in it
	var examples []string
	for _, r := range truth[1:] {
		no, kind, village, township, names := r[0], r[2], r[3], r[4], r[7] == "true"
		kinds[kind]++
		l, ok := got[no]
		if !ok {
			t.Errorf("order %s of the truth was not imported", no)
			continue
		}
		if names {
			naming++
			if fine[l.precision] && l.village == village {
				inVillage++
			} else {
				missed[kind+"/"+l.precision]++
				if len(examples) < 12 {
					examples = append(examples, fmt.Sprintf("%s %s %q in %s: %s %s matched %q (%s)", no, kind, l.address, village, l.precision, l.village, l.matched, l.reason))
				}
			}
		}
		if fine[l.precision] {
			if l.township != township {
				wrongTown++
				if wrongTown <= 5 {
					t.Errorf("order %s (%s) placed in township %s at %s, truly in %s", no, kind, l.township, l.precision, township)
				}
			}
			if l.village != village {
				wrongVillage++
				if wrongVillage <= 5 {
					t.Logf("order %s (%s) %q placed in village %s at %s, truly in %s: matched %q", no, kind, l.address, l.village, l.precision, village, l.matched)
				}
			}
		}
	}
	share := float64(inVillage) / float64(max(naming, 1))
	t.Logf("truth: kinds %v; %d of %d orders naming their village landed in it (%.2f%%; the others by kind/precision %v); %d in a wrong township, %d in a wrong village at village precision or finer",
		kinds, inVillage, naming, 100*share, missed, wrongTown, wrongVillage)
	for _, k := range []ingest.AddressKind{ingest.AddrHousehold, ingest.AddrVillage, ingest.AddrPlace, ingest.AddrTypo, ingest.AddrCoords,
		ingest.AddrTownship, ingest.AddrNothing} {
		if kinds[string(k)] == 0 {
			t.Errorf("no order's address is of kind %s", k)
		}
	}
	if naming == 0 || share < 0.98 {
		t.Logf("some that did not:\n%s", strings.Join(examples, "\n"))
		t.Errorf("%d of %d orders naming their village landed in it (%.2f%%), want ≥ 98%%", inVillage, naming, 100*share)
	}
	if wrongTown != 0 || wrongVillage != 0 {
		t.Errorf("%d orders placed in a wrong township and %d in a wrong village at village precision or finer, want 0", wrongTown, wrongVillage)
	}
}
