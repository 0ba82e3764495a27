package whistle

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
)

// pipeline sends batches of statements on a connection one behind the
// other without waiting for the answers of those before (pgconn.Pipeline),
// each batch with a Sync of its own: the server answers each batch as soon
// as it has run it, and an error skips only the rest of its own batch. The
// answers are read in the order the batches were sent, each batch through
// results. A batch sent second thus runs on the server while the client
// still reads the answers of the first (the intake's lane chains a batch's
// first round trip behind the COMMIT of the batch before it).
//
// The statements of every batch are prepared on the connection before the
// pipeline starts (startPipeline), which costs a round trip only the first time a
// connection sees a statement; a prepared statement is what pgx.Conn's own
// batches on that connection use too.
type pipeline struct {
	conn     *pgx.Conn
	pl       *pgconn.Pipeline
	prepared map[string]*pgconn.StatementDescription
	eqb      pgx.ExtendedQueryBuilder
	unread   int // batches sent whose answers are not read to their end
}

// startPipeline prepares the statements of batches on conn and puts conn in
// pipeline mode until the answers of every batch sent are read.
func startPipeline(ctx context.Context, conn *pgx.Conn, batches ...*pgx.Batch) (*pipeline, error) {
	p := &pipeline{conn: conn, prepared: map[string]*pgconn.StatementDescription{}}
	for _, b := range batches {
		for _, q := range b.QueuedQueries {
			if p.prepared[q.SQL] != nil {
				continue
			}
			sd, err := conn.Prepare(ctx, q.SQL, q.SQL)
			if err != nil {
				return nil, err
			}
			p.prepared[q.SQL] = sd
		}
	}
	p.pl = conn.PgConn().StartPipeline(ctx)
	return p, nil
}

// send queues b, one of the batches given to startPipeline, and its Sync,
// and flushes them to the server.
func (p *pipeline) send(b *pgx.Batch) error {
	for _, q := range b.QueuedQueries {
		sd := p.prepared[q.SQL]
		if sd == nil {
			return fmt.Errorf("whistle: pipeline: a statement not prepared: %.40q", q.SQL)
		}
		if err := p.eqb.Build(p.conn.TypeMap(), sd, q.Arguments); err != nil {
			return err
		}
		// the pipeline keeps the result formats until it reads the answer;
		// the builder's own slice is the next statement's
		p.pl.SendQueryStatement(sd, p.eqb.ParamValues, p.eqb.ParamFormats, slices.Clone(p.eqb.ResultFormats))
	}
	p.pl.SendPipelineSync()
	p.unread++
	return p.pl.Flush()
}

// results are the answers of b, the oldest batch sent and not yet read;
// their Close ends the pipeline after the last batch sent.
func (p *pipeline) results(b *pgx.Batch) pgx.BatchResults {
	return &pipelineResults{p: p, b: b}
}

// close ends the pipeline, reading what is left unread; the connection is
// closed when that fails other than by a statement's error.
func (p *pipeline) close() error {
	return p.pl.Close()
}

// pipelineResults reads the answers of one batch of a pipeline, as
// pgx.BatchResults does: each read takes the next statement's answer, and
// Close reads the rest through the batch's Sync, running the callbacks
// queued with the statements. After an error every later read answers it.
type pipelineResults struct {
	p      *pipeline
	b      *pgx.Batch
	next   int // the next statement to read
	rows   pgx.Rows
	err    error
	closed bool
}

func (r *pipelineResults) result() (*pgconn.ResultReader, error) {
	if r.err == nil && r.rows != nil {
		r.rows.Close()
		r.err = r.rows.Err()
	}
	r.rows = nil
	if r.err != nil {
		return nil, r.err
	}
	if r.closed || r.next >= len(r.b.QueuedQueries) {
		return nil, errors.New("whistle: pipeline: no statement left in the batch")
	}
	r.next++
	res, err := r.p.pl.GetResults()
	if err != nil {
		r.err = err
		return nil, err
	}
	rr, ok := res.(*pgconn.ResultReader)
	if !ok {
		r.err = fmt.Errorf("whistle: pipeline: unexpected answer %T", res)
		return nil, r.err
	}
	return rr, nil
}

func (r *pipelineResults) Exec() (pgconn.CommandTag, error) {
	rr, err := r.result()
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	tag, err := rr.Close()
	if err != nil {
		r.err = err
	}
	return tag, err
}

// Query answers rows that report the batch's error when there is one, as
// pgx's do: a callback queued with pgx.QueuedQuery.Query reads the error
// from the rows.
func (r *pipelineResults) Query() (pgx.Rows, error) {
	rr, err := r.result()
	if err != nil {
		return errRows{err}, err
	}
	r.rows = pgx.RowsFromResultReader(r.p.conn.TypeMap(), rr)
	return r.rows, nil
}

func (r *pipelineResults) QueryRow() pgx.Row {
	rows, err := r.Query()
	return pipelineRow{rows, err}
}

func (r *pipelineResults) Tx() pgx.Tx { return nil }

// Close reads the batch's remaining answers, running their callbacks until
// one fails, then its Sync; after the last batch sent it ends the
// pipeline.
func (r *pipelineResults) Close() error {
	if r.closed {
		return r.err
	}
	for r.err == nil && r.next < len(r.b.QueuedQueries) {
		if fn := r.b.QueuedQueries[r.next].Fn; fn != nil {
			if err := fn(r); err != nil && r.err == nil {
				r.err = err
			}
		} else {
			_, _ = r.Exec()
		}
	}
	if r.err == nil && r.rows != nil {
		r.rows.Close()
		r.err = r.rows.Err()
	}
	r.closed = true
	// the batch's Sync: after an error the pipeline skips what is left of
	// the batch up to it
	for {
		res, err := r.p.pl.GetResults()
		if err != nil {
			var pe *pgconn.PgError
			if !errors.As(err, &pe) {
				// the connection is lost
				if r.err == nil {
					r.err = err
				}
				r.p.unread = 0
				_ = r.p.pl.Close()
				return r.err
			}
			if r.err == nil {
				r.err = err
			}
			continue
		}
		if _, ok := res.(*pgconn.PipelineSync); ok {
			break
		}
		if res == nil {
			break
		}
		if rr, ok := res.(*pgconn.ResultReader); ok {
			_, _ = rr.Close()
		}
	}
	r.p.unread--
	if r.p.unread == 0 {
		if err := r.p.pl.Close(); err != nil && r.err == nil {
			r.err = err
		}
	}
	return r.err
}

// pipelineRow is QueryRow's answer: the first row of rows.
type pipelineRow struct {
	rows pgx.Rows
	err  error
}

func (r pipelineRow) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	defer r.rows.Close()
	if !r.rows.Next() {
		if err := r.rows.Err(); err != nil {
			return err
		}
		return pgx.ErrNoRows
	}
	if err := r.rows.Scan(dest...); err != nil {
		return err
	}
	r.rows.Close()
	return r.rows.Err()
}

// errRows are rows that hold nothing but err.
type errRows struct{ err error }

func (errRows) Close()                                       {}
func (e errRows) Err() error                                 { return e.err }
func (errRows) CommandTag() pgconn.CommandTag                { return pgconn.CommandTag{} }
func (errRows) FieldDescriptions() []pgconn.FieldDescription { return nil }
func (errRows) Next() bool                                   { return false }
func (e errRows) Scan(...any) error                          { return e.err }
func (e errRows) Values() ([]any, error)                     { return nil, e.err }
func (errRows) RawValues() [][]byte                          { return nil }
func (errRows) Conn() *pgx.Conn                              { return nil }
func (errRows) TypeMap() *pgtype.Map                         { return nil }
