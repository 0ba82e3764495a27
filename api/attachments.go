package api

import (
	"io"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"whistlegrid/attach"
	"whistlegrid/fault"
	"whistlegrid/whistle"
)

// attachRoute is the upload route; the edge gives it maxAttachBody.
const attachRoute = "POST /api/v1/attachments"

// maxAttachBody is the largest upload body: one attach.MaxSize file and
// its multipart envelope.
const maxAttachBody = attach.MaxSize + 64<<10

// attachToken authenticates the attachment reads: bearer or ?token=.
func (s *Server) attachToken(c *gin.Context) { s.queryToken(c, "attachments") }

// needBlobs answers 503 while the server has no attachment store.
func (s *Server) needBlobs(c *gin.Context) {
	if s.blobs == nil {
		s.fail(c, fault.New(fault.Unavailable, "no attachment store is configured"))
		return
	}
	c.Next()
}

// uploadAttachment: POST /api/v1/attachments, multipart/form-data with the field file
// (a JPEG, PNG, WebP or PDF of at most 10 MiB; its type read from its bytes)
// -> 201 {"id","sha256","content_type","size","url","thumb_url","gps"?:{"lon","lat"}}.
// The upload is the caller's until a clue (POST /clues "attachments":[id]) or a
// step (POST /whistles/{id}/{step} "attachments":[id]) takes it. EXIF is
// stripped; gps is the position it held. 413 past 10 MiB, 415 for another
// type, 422 for an image that cannot be read: nothing is stored then.
func (s *Server) uploadAttachment(c *gin.Context) {
	fh, err := c.FormFile("file")
	if err != nil {
		s.fail(c, &fault.Error{Kind: fault.BadRequest, Field: "file", Message: "send the file as multipart/form-data in the field file"})
		return
	}
	if fh.Size > attach.MaxSize {
		s.fail(c, fault.Newf(fault.TooLarge, "the file is %.1f MiB; an attachment is at most 10 MiB", float64(fh.Size)/(1<<20)))
		return
	}
	f, err := fh.Open()
	if err != nil {
		s.fail(c, err)
		return
	}
	data, err := io.ReadAll(io.LimitReader(f, attach.MaxSize+1))
	_ = f.Close()
	if err != nil {
		s.fail(c, err)
		return
	}
	p, err := attach.Prepare(data)
	if err != nil {
		s.fail(c, err)
		return
	}
	ctx := c.Request.Context()
	in := whistle.NewAttachment{SHA256: p.SHA256, ContentType: p.ContentType, Size: int64(len(p.Data))}
	if p.GPS != nil {
		in.GPS = &whistle.LonLat{Lon: p.GPS.Lon, Lat: p.GPS.Lat}
	}
	if err := whistle.MayAttach(scope(c)); err != nil {
		s.fail(c, err)
		return
	}
	// the object and its row under the object's lock, which the sweep of
	// loose uploads takes to delete an object no row names
	var a whistle.Attachment
	err = s.whistles.WithBlobLock(ctx, p.SHA256, func() error {
		if err := attach.Save(ctx, s.blobs, p); err != nil {
			return err
		}
		var err error
		a, err = s.whistles.AddAttachment(ctx, scope(c), in)
		return err
	})
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, a)
}

// attachmentFile: GET /api/v1/attachments/{id} (Bearer or ?token=) -> the file, with
// its content type, nosniff, Cache-Control private and an ETag of its SHA-256; 404
// unless the caller uploaded it or may see the clue or whistle it is attached to.
func (s *Server) attachmentFile(c *gin.Context) { s.serveAttachment(c, false) }

// attachmentThumb: GET /api/v1/attachments/{id}/thumb (Bearer or ?token=) -> a JPEG of
// at most 320 px a side (a PDF's is an icon), under the same rule as the file.
func (s *Server) attachmentThumb(c *gin.Context) { s.serveAttachment(c, true) }

func (s *Server) serveAttachment(c *gin.Context, thumb bool) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		s.fail(c, fault.New(fault.NotFound, "no attachment "+c.Param("id")))
		return
	}
	ctx := c.Request.Context()
	a, err := s.whistles.Attachment(ctx, scope(c), id)
	if err != nil {
		s.fail(c, err)
		return
	}
	key, ct := a.SHA256, a.ContentType
	if thumb {
		key, ct = attach.ThumbKey(a.SHA256), attach.JPEG
	}
	etag := `"` + key + `"`
	h := c.Writer.Header()
	h.Set("Cache-Control", "private, max-age=86400")
	h.Set("ETag", etag)
	h.Set("X-Content-Type-Options", "nosniff")
	if c.GetHeader("If-None-Match") == etag {
		c.Status(http.StatusNotModified)
		return
	}
	size, err := s.blobs.Stat(ctx, key)
	if err != nil {
		s.fail(c, err)
		return
	}
	rc, err := s.blobs.Open(ctx, key)
	if err != nil {
		s.fail(c, err)
		return
	}
	defer rc.Close()
	if ct == attach.PDF {
		h.Set("Content-Disposition", `attachment; filename="`+strconv.FormatInt(a.ID, 10)+`.pdf"`)
	}
	c.DataFromReader(http.StatusOK, size, ct, rc, nil)
}

// myReports: GET /api/v1/clues/mine?limit= -> {"reports":[...]}: the clues the caller
// reported (我的上报), newest first, each with its state: village (kept in its
// village), whistle (in whistle whistle_id, open) or closed; scoped in SQL to the caller.
func (s *Server) myReports(c *gin.Context) {
	p := params{c: c}
	limit := p.int("limit")
	if limit == 0 {
		limit = DefaultLimit
	}
	if limit < 1 || limit > MaxLimit {
		p.fail("limit", "limit must be a whole number from 1 to "+strconv.Itoa(MaxLimit))
	}
	if p.err != nil {
		s.fail(c, p.err)
		return
	}
	out, err := s.whistles.Mine(c.Request.Context(), scope(c), limit)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"reports": out})
}
