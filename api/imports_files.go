package api

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"whistlegrid/fault"
	"whistlegrid/ingest"
)

// fileKinds are the kinds of POST /api/v1/imports whose report is their
// own (not a hotline Report): grids (GeoJSON or a zipped Shapefile) and
// people (an xlsx roster). They run the code of `whistlegrid import grids`
// and `whistlegrid import people`.
var fileKinds = []string{"grids", "people"}

func isFileKind(kind string) bool {
	for _, k := range fileKinds {
		if k == kind {
			return true
		}
	}
	return false
}

// postFileImport is POST /api/v1/imports for kind grids or people:
// multipart kind, file, dry_run, and for grids level (district, township,
// zone, village, household), datum (wgs84|cgcs2000|gcj02) and encoding
// (of a Shapefile's .dbf without .cpg: utf8|gbk, default detected).
// A dry run answers 200 with the report (grids: per feature new, changed,
// unchanged or refused with why, the totals and each parent's gaps and
// overlaps; people: the rows, with every bad one's row, column and
// reason). Otherwise the file is checked first (an unreadable file, or a
// roster with any bad row, is 422 and nothing is written), then applied
// in the background: 202 {"id","status":"running"}, GET /imports/{id}.
func (s *Server) postFileImport(c *gin.Context, kind string, dryRun bool, data []byte, fileName string) {
	sc := scope(c)
	var run func(ctx context.Context, progress func(int64)) (any, int64, error)
	switch kind {
	case "grids":
		opts := ingest.GridOptions{Level: c.PostForm("level"), Datum: c.PostForm("datum"), DryRun: dryRun, Actor: sc.Username}
		switch c.PostForm("encoding") {
		case "":
		case "utf8":
			opts.Encoding = "UTF-8"
		case "gbk":
			opts.Encoding = "CP936"
		default:
			s.fail(c, invalidParam("encoding", "encoding must be utf8 or gbk"))
			return
		}
		raws, datum, err := ingest.ReadGridData(c.Request.Context(), data, opts.Encoding)
		if err == nil {
			// a bad level or datum is refused before any import starts
			_, err = ingest.GridDatum(datum, opts)
		}
		if err != nil {
			s.fail(c, err)
			return
		}
		run = func(ctx context.Context, progress func(int64)) (any, int64, error) {
			o := opts
			o.Progress = progress
			rep, err := s.imports.Grids(ctx, raws, datum, o)
			if rep == nil {
				return nil, 0, err
			}
			return rep, int64(len(rep.Features)), err
		}
	case "people":
		for _, f := range []string{"level", "datum", "mode", "encoding"} {
			if c.PostForm(f) != "" {
				s.fail(c, invalidParam(f, f+" is not read for a roster (kind people)"))
				return
			}
		}
		run = func(ctx context.Context, progress func(int64)) (any, int64, error) {
			rep, err := s.imports.People(ctx, bytes.NewReader(data), ingest.PeopleOptions{DryRun: dryRun, Progress: progress})
			if rep == nil {
				return nil, 0, err
			}
			return rep, int64(rep.Rows), err
		}
	}
	if dryRun {
		rep, _, err := run(c.Request.Context(), nil)
		if err != nil {
			s.fail(c, err)
			return
		}
		c.JSON(http.StatusOK, rep)
		return
	}
	if kind == "people" {
		// all or nothing: a roster with a bad row is refused before any import starts
		check, err := s.imports.People(c.Request.Context(), bytes.NewReader(data), ingest.PeopleOptions{DryRun: true})
		if err != nil {
			s.fail(c, err)
			return
		}
		if len(check.Bad) > 0 {
			s.fail(c, badRows(check.Bad))
			return
		}
	}
	id, err := s.imports.Begin(c.Request.Context(), kind, fileName, "", sc.Username)
	if err != nil {
		s.fail(c, err)
		return
	}
	// the import outlives the request: the page polls its progress
	ctx := context.WithoutCancel(c.Request.Context())
	go func() {
		rep, rows, err := run(ctx, throttledProgress(func(n int64) { s.imports.Progress(ctx, id, n) }))
		s.imports.EndReport(ctx, id, rep, rows, err)
		if err != nil {
			s.log.Warn("import failed", "id", id, "kind", kind, "err", err)
		}
	}()
	c.JSON(http.StatusAccepted, gin.H{"id": id, "status": "running"})
}

// badRows is the 422 of a roster with bad rows: how many, and the first
// few (row, column, reason); the dry run lists them all.
func badRows(bad []ingest.RowError) *fault.Error {
	parts := make([]string, 0, 5)
	for i, e := range bad {
		if i == 5 {
			parts = append(parts, fmt.Sprintf("and %d more (the dry run lists them all)", len(bad)-5))
			break
		}
		parts = append(parts, e.String())
	}
	return &fault.Error{Kind: fault.Invalid, Field: "file", Message: strconv.Itoa(len(bad)) + " bad rows in the roster; nothing was written: " + strings.Join(parts, "; ")}
}

// throttledProgress calls f with the latest count at most every 200 ms.
func throttledProgress(f func(int64)) func(int64) {
	var mu sync.Mutex
	var last time.Time
	return func(n int64) {
		mu.Lock()
		defer mu.Unlock()
		if now := time.Now(); now.Sub(last) >= 200*time.Millisecond {
			last = now
			f(n)
		}
	}
}

// readUpload reads a multipart upload's file part whole.
func readUpload(c *gin.Context) (data []byte, name string, err error) {
	f, fh, err := c.Request.FormFile("file")
	if err != nil {
		return nil, "", invalidParam("file", "a file part is required (multipart/form-data)")
	}
	defer f.Close()
	data, err = io.ReadAll(f)
	if err != nil {
		return nil, "", fault.New(fault.BadRequest, "the file cannot be read: "+err.Error())
	}
	return data, fh.Filename, nil
}
