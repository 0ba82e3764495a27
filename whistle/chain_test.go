package whistle_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"whistlegrid/access"
	"whistlegrid/metrics"
	"whistlegrid/whistle"
)

// batchCounts reads whistlegrid_intake_batches_total by start and result.
func batchCounts(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "whistlegrid_intake_batches_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			var start, result string
			for _, l := range m.GetLabel() {
				switch l.GetName() {
				case "start":
					start = l.GetValue()
				case "result":
					result = l.GetValue()
				}
			}
			counts[start+"/"+result] = m.GetCounter().GetValue()
		}
	}
	return counts
}

// More clients than a batch holds, each sending its clues one after the
// other: batches go out chained behind the COMMIT of the one before, on
// the same connection (lane, pipeline), and commit. Then a fault (a
// trigger) fails every batch that holds a clue of reporter 故障 among
// others, at the batch's last round trip, where a batch may be chained
// behind it: every clue is still answered, stored once and announced
// once, the failed batches' clues one at a time and the chained batches
// behind them run again.
func TestChainedIntakeBatches(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	st := whistle.NewStore(f.env.Pool, f.env.Placer, whistle.Options{})
	reg := prometheus.NewRegistry()
	if err := metrics.Register(reg); err != nil {
		t.Fatal(err)
	}
	command := access.Scope{Role: access.RoleCommand, Username: "command"}

	// run sends clients × each clues, reporter 故障 on every fault-th clue
	// of each client (never when fault is 0), and checks every answer
	run := func(round string, clients, each, fault int) {
		t.Helper()
		var wg sync.WaitGroup
		errs := make(chan error, clients*each)
		for c := range clients {
			wg.Go(func() {
				for i := range each {
					lon, lat := f.lon+float64(c%6)*0.0004, f.lat+float64(i%4)*0.0003 // a few hundred metres
					in := whistle.ClueInput{Source: "patrol", ExternalID: fmt.Sprintf("%s-%d-%d", round, c, i), Category: category,
						Text: "门口摆摊", Lon: &lon, Lat: &lat, ReportedAt: time.Now().Format(time.RFC3339)}
					if fault > 0 && i%fault == fault-1 {
						in.Reporter = &whistle.Reporter{Name: "故障"}
					}
					r, err := st.Intake(ctx, command, in)
					if err != nil {
						errs <- fmt.Errorf("%s: %w", in.ExternalID, err)
						return
					}
					if r.Existing || r.Clue.ID == 0 {
						errs <- fmt.Errorf("%s: answered %+v", in.ExternalID, r.Clue)
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		var clues, received, dupEvents int
		if err := f.env.Pool.QueryRow(ctx, `SELECT
			(SELECT count(*) FROM clues WHERE external_id LIKE $1 || '-%'),
			(SELECT count(*) FROM events WHERE kind = 'clue.received' AND payload->'clue'->>'id' IN (SELECT id::text FROM clues WHERE external_id LIKE $1 || '-%')),
			(SELECT count(*) FROM (SELECT payload->'clue'->>'id' FROM events WHERE kind = 'clue.received' GROUP BY 1 HAVING count(*) > 1) d)`,
			round).Scan(&clues, &received, &dupEvents); err != nil {
			t.Fatal(err)
		}
		if clues != clients*each || received != clients*each || dupEvents != 0 {
			t.Errorf("%s: %d clues stored, %d clue.received, %d clues announced twice; want %d, %d, 0",
				round, clues, received, dupEvents, clients*each, clients*each)
		}
	}

	before := batchCounts(t, reg)
	run("chain", 24, 15, 0)
	after := batchCounts(t, reg)
	if d := after["chained/committed"] - before["chained/committed"]; d < 1 {
		t.Errorf("no batch was chained behind a COMMIT: %v", after)
	}
	for _, k := range []string{"chained/failed", "fresh/failed"} {
		if d := after[k] - before[k]; d != 0 {
			t.Errorf("%v batches %s with no fault: %v", d, k, after)
		}
	}

	if _, err := f.env.Pool.Exec(ctx, `
		CREATE FUNCTION fault_batch() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			IF (SELECT count(*) FROM fault_new WHERE kind = 'clue.received') > 1
				AND EXISTS (SELECT 1 FROM fault_new WHERE payload->'clue'->>'reporter_name' = '故障') THEN
				RAISE EXCEPTION 'fault injected';
			END IF;
			RETURN NULL;
		END $$;
		CREATE TRIGGER fault_batch AFTER INSERT ON events REFERENCING NEW TABLE AS fault_new
			FOR EACH STATEMENT EXECUTE FUNCTION fault_batch();`); err != nil {
		t.Fatal(err)
	}
	before = batchCounts(t, reg)
	run("fault", 24, 15, 5)
	after = batchCounts(t, reg)
	if d := after["chained/failed"] + after["fresh/failed"] - before["chained/failed"] - before["fresh/failed"]; d < 1 {
		t.Errorf("no batch failed at the fault: %v", after)
	}
}
