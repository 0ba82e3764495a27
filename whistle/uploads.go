package whistle

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultUploadGrace is how long an upload may stay loose (attached to no
// clue and no step) before SweepUploads deletes it.
const DefaultUploadGrace = 24 * time.Hour

// BlobDeleter removes stored objects by key (attach.Blobs does).
type BlobDeleter interface {
	Delete(ctx context.Context, key string) error
}

// uploadSweepBatch is the most loose uploads one statement deletes; the
// sweep repeats it until none is left.
const uploadSweepBatch = 500

// sweepUploads deletes a batch of the uploads loose since before $1: on
// no clue (clue_id), no step (event_id), and named by no ledger entry
// (whose attachments hold ids as typed, or their URLs). FOR UPDATE SKIP
// LOCKED, and the DELETE's own re-check of the row, make it once-only
// across instances, as the deadline sweep is: a row one sweep deletes is
// not seen by another, and one that a clue or step takes meanwhile (its
// UPDATE holds the row) is skipped, never deleted attached.
const sweepUploads = `
DELETE FROM attachments a
WHERE a.id IN (
    SELECT l.id FROM attachments l
    WHERE l.clue_id IS NULL AND l.event_id IS NULL AND l.uploaded_at < $1
    ORDER BY l.uploaded_at
    LIMIT $2
    FOR UPDATE SKIP LOCKED)
  AND a.clue_id IS NULL AND a.event_id IS NULL
  AND NOT EXISTS (SELECT 1 FROM ledger_entries e WHERE e.attachments && ARRAY[a.id::text, '/api/v1/attachments/' || a.id])
RETURNING a.id, a.sha256`

// blobKeys are the keys of an object and its thumbnail (attach.ThumbKey).
func blobKeys(sha string) []string { return []string{sha, sha + ".thumb.jpg"} }

// UploadSweep counts what SweepUploads did.
type UploadSweep struct {
	Rows  int // upload rows deleted
	Blobs int // objects (with their thumbnails) deleted: no row names them any more
}

// SweepUploads deletes the uploads loose for longer than grace (0 means
// DefaultUploadGrace): their rows, and their objects in blobs once no
// other upload names the same content. Safe on several instances at once.
//
// An object is deleted under the advisory lock of its SHA-256
// (WithBlobLock), which the upload path holds from storing the object to
// recording its row: so a new upload of the same content either records
// its row first (and the object is kept) or stores the object again after
// it was deleted.
func (s *Store) SweepUploads(ctx context.Context, blobs BlobDeleter, grace time.Duration) (UploadSweep, error) {
	if grace <= 0 {
		grace = DefaultUploadGrace
	}
	var res UploadSweep
	before := s.now().Add(-grace)
	for {
		rows, err := s.pool.Query(ctx, sweepUploads, before, uploadSweepBatch)
		if err != nil {
			return res, fmt.Errorf("whistle: upload sweep: %w", err)
		}
		type gone struct {
			id  int64
			sha string
		}
		deleted, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (gone, error) {
			var g gone
			err := r.Scan(&g.id, &g.sha)
			return g, err
		})
		if err != nil {
			return res, fmt.Errorf("whistle: upload sweep: %w", err)
		}
		res.Rows += len(deleted)
		shas := map[string]bool{}
		for _, g := range deleted {
			shas[g.sha] = true
		}
		for sha := range shas {
			err := s.WithBlobLock(ctx, sha, func() error {
				var named bool
				if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM attachments WHERE sha256 = $1)`, sha).Scan(&named); err != nil || named {
					return err
				}
				for _, k := range blobKeys(sha) {
					if err := blobs.Delete(ctx, k); err != nil {
						return err
					}
				}
				res.Blobs++
				return nil
			})
			if err != nil {
				return res, fmt.Errorf("whistle: upload sweep: %w", err)
			}
		}
		if len(deleted) < uploadSweepBatch {
			return res, nil
		}
	}
}

// WithBlobLock runs f holding the session advisory lock of the object
// sha (one database connection for its time): the upload path stores an
// object and records its row under it, SweepUploads checks and deletes an
// object under it.
func (s *Store) WithBlobLock(ctx context.Context, sha string, f func() error) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("whistle: blob lock: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(hashtextextended('attachment:' || $1, 0))`, sha); err != nil {
		return fmt.Errorf("whistle: blob lock: %w", err)
	}
	defer func() {
		// a lock left held (the unlock failed) goes with the connection
		if _, err := conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(hashtextextended('attachment:' || $1, 0))`, sha); err != nil {
			_ = conn.Conn().Close(context.WithoutCancel(ctx))
		}
	}()
	return f()
}

// RunUploadSweeps runs SweepUploads every interval until ctx ends.
func (s *Store) RunUploadSweeps(ctx context.Context, every time.Duration, blobs BlobDeleter, grace time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		res, err := s.SweepUploads(ctx, blobs, grace)
		switch {
		case err != nil && ctx.Err() == nil:
			log.Error("upload sweep failed", slog.Any("err", err))
		case res.Rows > 0:
			log.Info("upload sweep: loose uploads deleted", slog.Int("uploads", res.Rows), slog.Int("objects", res.Blobs))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
