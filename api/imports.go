package api

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"whistlegrid/access"
	"whistlegrid/fault"
	"whistlegrid/ingest"
)

// maxImportBody is the largest file the browser uploads to POST
// /api/v1/imports (the CLI reads files of any size).
const maxImportBody = 64 << 20

// needImports answers 503 while the placement index (and so the
// importer) is not loaded.
func (s *Server) needImports(c *gin.Context) {
	if s.imports == nil {
		s.fail(c, fault.New(fault.Unavailable, "the placement index is not loaded"))
		return
	}
	c.Next()
}

// postImport: POST /api/v1/imports, multipart/form-data: kind (hotline|places|grids|people), file, dry_run (true|false),
// mode (history|live), encoding (utf8|gbk, default detected), mapping (a mapping file, optional)
// -> dry_run: 200 the report; else 202 {"id","status":"running"}, then GET /api/v1/imports/{id}.
// The command center only. The same ingest code as `whistlegrid import`.
func (s *Server) postImport(c *gin.Context) {
	sc := scope(c)
	if sc.Role != access.RoleCommand {
		s.fail(c, fault.New(fault.Forbidden, "only the command center imports files"))
		return
	}
	kind := c.PostForm("kind")
	kinds := s.imports.Kinds()
	run, ok := kinds[kind]
	if !ok && !isFileKind(kind) {
		names := append(ingest.KindNames(kinds), fileKinds...)
		sort.Strings(names)
		s.fail(c, invalidParam("kind", "kind must be one of "+strings.Join(names, ", ")+", got "+strconv.Quote(kind)))
		return
	}
	req := ingest.Request{Kind: kind, By: sc.Username, Scope: sc}
	var err error
	if v := c.PostForm("dry_run"); v != "" {
		if req.DryRun, err = strconv.ParseBool(v); err != nil {
			s.fail(c, invalidParam("dry_run", "dry_run must be true or false"))
			return
		}
	}
	if isFileKind(kind) {
		data, name, err := readUpload(c)
		if err != nil {
			s.fail(c, err)
			return
		}
		s.postFileImport(c, kind, req.DryRun, data, name)
		return
	}
	if req.Mode, err = ingest.ParseMode(c.PostForm("mode")); err != nil {
		s.fail(c, err)
		return
	}
	if req.Encoding, err = ingest.ParseEncoding(c.PostForm("encoding")); err != nil {
		s.fail(c, invalidParam("encoding", "encoding must be utf8 or gbk"))
		return
	}
	if mf, _, err := c.Request.FormFile("mapping"); err == nil {
		req.Mapping, err = ingest.ReadMapping(mf)
		mf.Close()
		if err != nil {
			s.fail(c, invalidParam("mapping", err.Error()))
			return
		}
	}
	f, fh, err := c.Request.FormFile("file")
	if err != nil {
		s.fail(c, invalidParam("file", "a file part is required (multipart/form-data)"))
		return
	}
	data, err := io.ReadAll(f)
	f.Close()
	if err != nil {
		s.fail(c, fault.New(fault.BadRequest, "the file cannot be read: "+err.Error()))
		return
	}
	req.FileName = fh.Filename
	if req.DryRun {
		rep, err := run(c.Request.Context(), bytes.NewReader(data), req)
		if err != nil {
			s.fail(c, err)
			return
		}
		c.JSON(http.StatusOK, rep)
		return
	}
	mode := ""
	if kind == "hotline" {
		mode = string(req.Mode)
	}
	id, err := s.imports.Begin(c.Request.Context(), kind, req.FileName, mode, sc.Username)
	if err != nil {
		s.fail(c, err)
		return
	}
	req.ImportID = id
	// the import outlives the request: the page polls its progress
	ctx := context.WithoutCancel(c.Request.Context())
	go func() {
		var rejects bytes.Buffer
		req.Rejects = &rejects
		req.Progress = func(rows int64) { s.imports.Progress(ctx, id, rows) }
		rep, err := run(ctx, bytes.NewReader(data), req)
		s.imports.End(ctx, id, rep, err)
		if err == nil && rejects.Len() > 0 {
			s.imports.SaveRejects(ctx, id, rejects.String())
		}
		if err != nil {
			s.log.Warn("import failed", "id", id, "kind", kind, "err", err)
		}
	}()
	c.JSON(http.StatusAccepted, gin.H{"id": id, "status": "running"})
}

// importID reads the path's import id, for the command center only.
func importID(c *gin.Context) (int64, error) {
	if scope(c).Role != access.RoleCommand {
		return 0, fault.New(fault.Forbidden, "only the command center sees imports")
	}
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, fault.New(fault.NotFound, "no import "+c.Param("id"))
	}
	return id, nil
}

// getImport: GET /api/v1/imports/{id} -> {"id","kind","file","mode","status","rows_read","report",…}.
// The command center only.
func (s *Server) getImport(c *gin.Context) {
	id, err := importID(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	st, err := s.imports.Status(c.Request.Context(), id)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, st)
}

// getImportRejects: GET /api/v1/imports/{id}/rejects -> text/csv row,column,reason (only the header when none).
func (s *Server) getImportRejects(c *gin.Context) {
	id, err := importID(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	csv, err := s.imports.Rejects(c.Request.Context(), id)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.Header("Content-Disposition", "attachment; filename=\"import-"+strconv.FormatInt(id, 10)+"-rejects.csv\"")
	c.Data(http.StatusOK, "text/csv; charset=utf-8", []byte(csv))
}

// unplacedOrders: GET /api/v1/hotline/unplaced?limit=50&offset=0 -> {"orders":[…],"total"}: the review
// queue the caller sees (a township operator their township's, the command center all).
func (s *Server) unplacedOrders(c *gin.Context) {
	p := params{c: c}
	limit, offset := p.int("limit"), p.int("offset")
	if p.err != nil {
		s.fail(c, p.err)
		return
	}
	if limit > 200 {
		s.fail(c, invalidParam("limit", "limit is at most 200"))
		return
	}
	orders, total, err := s.imports.Unplaced(c.Request.Context(), scope(c), limit, offset)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"orders": orders, "total": total})
}

type pinInput struct {
	Lon *float64 `json:"lon"`
	Lat *float64 `json:"lat"`
}

// placeOrder: POST /api/v1/hotline/unplaced/{id}/place {"lon","lat"} (WGS-84) -> 200 {"id","clue_id","whistle"}:
// the order goes on through intake (live) or is stored as history; 409 when placed already.
func (s *Server) placeOrder(c *gin.Context) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		s.fail(c, fault.New(fault.NotFound, "no hotline order "+c.Param("id")))
		return
	}
	var in pinInput
	if err := bindJSON(c, &in, objectShape); err != nil {
		s.fail(c, err)
		return
	}
	if in.Lon == nil || in.Lat == nil {
		s.fail(c, invalidParam("lon", "lon and lat are required (WGS-84)"))
		return
	}
	res, err := s.imports.Place(c.Request.Context(), scope(c), id, *in.Lon, *in.Lat)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, res)
}
