package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"sync"
	"testing"
	"time"

	"whistlegrid/internal/testenv"
	"whistlegrid/internal/testimage"
	"whistlegrid/whistle"
)

// TestSweepUploads: the sweep deletes the uploads loose for longer than
// the grace, rows and objects, and nothing else: not a young one, not one
// a clue took (posted with it), and not the object of
// an old upload whose content a young one shares. Three sweeps at once
// delete each once.
func TestSweepUploads(t *testing.T) {
	env := testenv.Start(t)
	ctx := context.Background()
	var village string
	var lon, lat float64
	err := env.Pool.QueryRow(ctx, `SELECT code, ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) FROM grids
		WHERE level = 'village' AND valid_to IS NULL ORDER BY code LIMIT 1`).Scan(&village, &lon, &lat)
	if err != nil {
		t.Fatal(err)
	}
	worker := env.Login(t, "w"+village)
	up := func(size int) uploaded {
		t.Helper()
		st, b := upload(t, env, worker, "a.jpg", "image/jpeg", testimage.JPEG(size, size, 0, 0, false, 0))
		var u uploaded
		if st != 201 || json.Unmarshal(b, &u) != nil {
			t.Fatalf("upload: %d %s", st, b)
		}
		return u
	}
	young, old, onClue := up(16), up(17), up(18)
	sharedOld, sharedYoung := up(21), up(21)
	if sharedOld.SHA256 != sharedYoung.SHA256 {
		t.Fatal("the same picture twice has two hashes")
	}
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := env.Pool.Exec(ctx, q, args...); err != nil {
			t.Fatal(err)
		}
	}
	// the worker reports a clue with one of them: it is attached
	if st, b := env.Do(t, "POST", "/api/v1/clues", worker, map[string]any{"source": "patrol", "external_id": "sweep-1", "category": "CM.01.03",
		"text": "门口摆摊占道", "lon": lon, "lat": lat, "reported_at": time.Now().Format(time.RFC3339), "attachments": []int64{onClue.ID}}); st != 201 {
		t.Fatalf("clue with an attachment: %d %s", st, b)
	}
	for _, u := range []uploaded{old, onClue, sharedOld} {
		exec(`UPDATE attachments SET uploaded_at = now() - interval '25 hours' WHERE id = $1`, u.ID)
	}

	store := whistle.NewStore(env.Pool, env.Placer, whistle.Options{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var total whistle.UploadSweep
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := store.SweepUploads(ctx, env.Blobs, 24*time.Hour)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			total.Rows += res.Rows
			total.Blobs += res.Blobs
			mu.Unlock()
		}()
	}
	wg.Wait()
	if total.Rows != 2 || total.Blobs != 1 {
		t.Errorf("three sweeps deleted %d rows and %d objects, want 2 (the old loose one, the old twin) and 1", total.Rows, total.Blobs)
	}
	stored := func(sha string) bool {
		_, err := env.Blobs.Stat(ctx, sha)
		_, terr := env.Blobs.Stat(ctx, sha+".thumb.jpg")
		if errors.Is(err, fs.ErrNotExist) != errors.Is(terr, fs.ErrNotExist) {
			t.Errorf("object %s and its thumbnail: %v, %v", sha[:8], err, terr)
		}
		return err == nil
	}
	for _, tc := range []struct {
		name string
		u    uploaded
		kept bool
		blob bool
	}{
		{"young", young, true, true},
		{"old and loose", old, false, false},
		{"on a clue", onClue, true, true},
		{"old, its content shared by a young one", sharedOld, false, true},
		{"young, sharing an old one's content", sharedYoung, true, true},
	} {
		var n int
		if err := env.Pool.QueryRow(ctx, `SELECT count(*) FROM attachments WHERE id = $1`, tc.u.ID).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if (n == 1) != tc.kept {
			t.Errorf("%s: row kept %v, want %v", tc.name, n == 1, tc.kept)
		}
		if got := stored(tc.u.SHA256); got != tc.blob {
			t.Errorf("%s: object kept %v, want %v", tc.name, got, tc.blob)
		}
	}
	if res, err := store.SweepUploads(ctx, env.Blobs, 24*time.Hour); err != nil || res.Rows != 0 {
		t.Errorf("a sweep after: %+v %v, want nothing deleted", res, err)
	}
}
