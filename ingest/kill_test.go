package ingest_test

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"whistlegrid/grid"
	"whistlegrid/ingest"
	"whistlegrid/internal/testenv"
	"whistlegrid/whistle"
)

// The child process of TestImportKilledHalfway: it imports the file in
// WHISTLEGRID_TEST_IMPORT_FILE into WHISTLEGRID_TEST_IMPORT_URL until it
// is killed.
func TestImportKilledHalfwayChild(t *testing.T) {
	url, file := os.Getenv("WHISTLEGRID_TEST_IMPORT_URL"), os.Getenv("WHISTLEGRID_TEST_IMPORT_FILE")
	if url == "" || file == "" {
		t.Skip("the child of TestImportKilledHalfway; runs only when that test starts it")
	}
	if err := importFile(context.Background(), url, file); err != nil {
		t.Fatal(err)
	}
}

func importFile(ctx context.Context, url, file string) error {
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return err
	}
	defer pool.Close()
	placer, err := grid.NewPlacer(ctx, pool, grid.IndexOptions{})
	if err != nil {
		return err
	}
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	im := ingest.NewImporter(pool, placer, whistle.NewStore(pool, placer, whistle.Options{}))
	_, err = im.ImportHotline(ctx, f, ingest.HotlineOptions{Mode: ingest.ModeHistory, FileName: filepath.Base(file), By: "test"})
	return err
}

// TestImportKilledHalfway kills (SIGKILL) an importer process halfway
// through a 100,000-row file, then imports the file again: every row is
// imported exactly once.
func TestImportKilledHalfway(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: imports 100,000 rows")
	}
	url := testenv.DemoURL(t)
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	gen, err := ingest.NewHotlineGenerator(ctx, pool, 3)
	if err != nil {
		t.Fatal(err)
	}
	const rows = 100_000
	file := filepath.Join(t.TempDir(), "orders.csv")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	bw := bufio.NewWriter(f)
	if err := gen.WriteCSV(bw, 0, rows, true, nil); err != nil {
		t.Fatal(err)
	}
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()

	child := exec.Command(os.Args[0], "-test.run=^TestImportKilledHalfwayChild$", "-test.count=1")
	child.Env = append(os.Environ(), "WHISTLEGRID_TEST_IMPORT_URL="+url, "WHISTLEGRID_TEST_IMPORT_FILE="+file)
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- child.Wait() }()
	// wait until some batches are in, then kill it
	var stored int
	for deadline := time.Now().Add(10 * time.Minute); stored < rows/10; {
		select {
		case err := <-exited:
			t.Fatalf("the importer ended before it was killed (%v) with %d rows stored", err, stored)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d rows stored after 10 minutes", stored)
		}
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM hotline_orders`).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := child.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-exited
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM hotline_orders`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if stored >= rows {
		t.Fatalf("the importer had finished (%d rows) before it was killed", stored)
	}
	t.Logf("killed with %d of %d rows stored", stored, rows)
	if err := importFile(ctx, url, file); err != nil {
		t.Fatal(err)
	}
	var orders, distinct, clues, placed int
	err = pool.QueryRow(ctx, `SELECT count(*), count(DISTINCT order_no), (SELECT count(*) FROM clues WHERE source = 'hotline'),
        count(clue_id) FROM hotline_orders`).Scan(&orders, &distinct, &clues, &placed)
	if err != nil {
		t.Fatal(err)
	}
	if orders != rows || distinct != rows || clues != placed {
		t.Errorf("after the re-run: %d orders (%d distinct), %d clues for %d placed orders; want %d, each once", orders, distinct, clues, placed, rows)
	}
}
