package api

import (
	"encoding/xml"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/jackc/pgx/v5/pgxpool"

	"whistlegrid/fault"
	"whistlegrid/ingest"
)

// open311Prefix is where Open311 GeoReport v2 is served.
const open311Prefix = "/open311/v2"

// newOpen311 serves Open311 GeoReport v2 at /open311/v2/ (the routes are in
// router.go), reading and writing through pool. Open311 is public read;
// posting needs an api_key. Every resource answers .json or .xml by its
// suffix; errors come in the spec's format, [{"code":404,"description":"..."}].
func (s *Server) newOpen311(pool *pgxpool.Pool) *open311API {
	var opts ingest.Open311Options
	if s.imports != nil {
		opts.Gazetteer = s.imports.Gazetteer
	}
	return &open311API{o: ingest.NewOpen311(pool, s.whistles, opts), log: s.log}
}

// open311API serves Open311 through ingest.Open311.
type open311API struct {
	o   *ingest.Open311
	log *slog.Logger
}

// format is the answer's format, from the resource's suffix.
type format int

const (
	formatJSON format = iota
	formatXML
)

// splitFormat splits "services.json" into "services" and JSON. A service
// code may hold dots: the suffix is what follows the last one.
func splitFormat(file string) (string, format, bool) {
	i := strings.LastIndexByte(file, '.')
	if i <= 0 {
		return file, formatJSON, false
	}
	switch file[i+1:] {
	case "json":
		return file[:i], formatJSON, true
	case "xml":
		return file[:i], formatXML, true
	}
	return file[:i], formatJSON, false
}

// render answers v in format f. root names the XML element around a list
// (services, service_requests, errors); a single document has its own.
func (h *open311API) render(c *gin.Context, f format, status int, root string, v any) {
	if f == formatJSON {
		c.JSON(status, v)
		return
	}
	doc := v
	if root != "" {
		doc = xmlList{XMLName: xml.Name{Local: root}, Items: v}
	}
	b, err := xml.MarshalIndent(doc, "", "  ")
	if err != nil {
		h.log.ErrorContext(c.Request.Context(), "open311: xml", slog.Any("err", err))
		c.Status(http.StatusInternalServerError)
		return
	}
	c.Data(status, "text/xml; charset=utf-8", append([]byte(xml.Header), b...))
}

// xmlList wraps a list in its root element; each item names its own
// element (service, request, error).
type xmlList struct {
	XMLName xml.Name
	Items   any
}

// open311Error is the Open311 answer to err, from the API's one mapping
// (answer): the same status, but 400 for an invalid argument as GeoReport
// v2 has it, and the field at fault before the message.
func open311Error(err error) (int, ingest.Open311Error) {
	st, d := answer(err)
	if st == http.StatusUnprocessableEntity {
		st = http.StatusBadRequest
	}
	desc := d.Message
	if d.Field != "" {
		desc = d.Field + ": " + desc
	}
	return st, ingest.Open311Error{Code: st, Description: desc}
}

// fail answers err in the spec's format, [{"code","description"}], and
// stops the chain; a 5xx is logged.
func (h *open311API) fail(c *gin.Context, f format, err error) {
	st, e := open311Error(err)
	if st == statusClientClosed {
		c.AbortWithStatus(st)
		return
	}
	logFailure(h.log, c, st, err)
	setRetryAfter(c, st, err)
	h.render(c, f, st, "errors", []ingest.Open311Error{e})
	c.Abort()
}

// document: GET /open311/v2/{discovery|services|requests}.{json|xml}
//
//	discovery: the service discovery document, its endpoint URL built from the request's host.
//	services:  the leaf categories as services.
//	requests:  ?service_request_id=1,2&service_code=A,B&start_date=&end_date=&status=open,closed&extensions=&page=&page_size=
//	           clues as service requests, newest first (ties by id), 90 days by default, in pages of
//	           page_size (ingest.DefaultPageSize, at most ingest.MaxPageSize, more is 400); a page
//	           with more after it has a Link rel="next" to the next page; extended_attributes only with extensions=true.
func (h *open311API) document(c *gin.Context) {
	name, f, ok := splitFormat(c.Param("doc"))
	if !ok {
		h.fail(c, f, fault.New(fault.NotFound, "no such resource "+c.Param("doc")+": resources end in .json or .xml"))
		return
	}
	ctx := c.Request.Context()
	switch name {
	case "discovery":
		h.render(c, f, http.StatusOK, "", ingest.NewDiscovery(endpointURL(c.Request)))
	case "services":
		out, err := h.o.Services(ctx)
		if err != nil {
			h.fail(c, f, err)
			return
		}
		h.render(c, f, http.StatusOK, "services", out)
	case "requests":
		filter, err := ingest.ParseRequestQuery(c.Request.URL.Query(), time.Now())
		if err != nil {
			h.fail(c, f, err)
			return
		}
		out, more, err := h.o.Requests(ctx, filter)
		if err != nil {
			h.fail(c, f, err)
			return
		}
		if more {
			q := c.Request.URL.Query()
			q.Set("page", strconv.Itoa(filter.Page+1))
			c.Header("Link", "<"+(&url.URL{Path: c.Request.URL.Path, RawQuery: q.Encode()}).String()+`>; rel="next"`)
		}
		if !filter.Extensions {
			for i := range out {
				out[i].Extended = nil
			}
		}
		h.render(c, f, http.StatusOK, "service_requests", out)
	default:
		h.fail(c, f, fault.New(fault.NotFound, "no such resource "+c.Param("doc")+": use discovery, services or requests"))
	}
}

// endpointURL is this endpoint's base URL as the client reached it; behind
// a proxy that ends TLS, X-Forwarded-Proto gives the scheme.
func endpointURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	} else if p := strings.ToLower(r.Header.Get("X-Forwarded-Proto")); p == "https" || p == "http" {
		scheme = p
	}
	return scheme + "://" + r.Host + open311Prefix
}

// serviceDefinition: GET /open311/v2/services/{service_code}.{json|xml}
// -> {"service_code","attributes":[]}: no service has attributes (metadata
// is false), so every service answers an empty list; an unknown code or a
// group's code -> 404.
func (h *open311API) serviceDefinition(c *gin.Context) {
	code, f, ok := splitFormat(c.Param("service"))
	if !ok {
		h.fail(c, f, fault.New(fault.NotFound, "no such resource "+c.Param("service")+": resources end in .json or .xml"))
		return
	}
	d, err := h.o.ServiceDefinition(c.Request.Context(), code)
	if err != nil {
		h.fail(c, f, err)
		return
	}
	h.render(c, f, http.StatusOK, "", d)
}

// request: GET /open311/v2/requests/{service_request_id}.{json|xml}?extensions=
// -> the request as a one-element list; an unknown id -> 404.
func (h *open311API) request(c *gin.Context) {
	idText, f, ok := splitFormat(c.Param("request"))
	if !ok {
		h.fail(c, f, fault.New(fault.NotFound, "no such resource "+c.Param("request")+": resources end in .json or .xml"))
		return
	}
	ext, err := ingest.Extensions(c.Request.URL.Query())
	if err != nil {
		h.fail(c, f, err)
		return
	}
	id, err := strconv.ParseInt(idText, 10, 64)
	if err != nil || id <= 0 {
		h.fail(c, f, fault.New(fault.NotFound, "service_request_id "+idText+" not found"))
		return
	}
	sr, err := h.o.Request(c.Request.Context(), id)
	if err != nil {
		h.fail(c, f, err)
		return
	}
	if !ext {
		sr.Extended = nil
	}
	h.render(c, f, http.StatusOK, "service_requests", []ingest.ServiceRequest{sr})
}

// token: GET /open311/v2/tokens/{token}.{json|xml} -> 404: every service
// is realtime, POST answers the service_request_id and no token is issued.
func (h *open311API) token(c *gin.Context) {
	_, f, _ := splitFormat(c.Param("token"))
	h.fail(c, f, fault.New(fault.NotFound, "token not found: services here are realtime and POST requests answers the service_request_id"))
}

// postRequest: POST /open311/v2/requests.{json|xml}, application/x-www-form-urlencoded:
// api_key, service_code, lat, long (WGS-84), description, first_name, last_name, phone,
// email, device_id, account_id, media_url (an http(s) URL, kept and read back; address_string,
// address_id, attribute[...] not used)
// -> 201 [{"service_request_id","service_notice","account_id"}]; the same form again -> 200, the same id.
func (h *open311API) postRequest(c *gin.Context) {
	name, f, ok := splitFormat(c.Param("doc"))
	if !ok || name != "requests" {
		h.fail(c, f, fault.New(fault.NotFound, "no such resource to POST "+c.Param("doc")+": POST requests.json or requests.xml"))
		return
	}
	mt, _, err := mime.ParseMediaType(c.GetHeader("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		h.fail(c, f, fault.New(fault.BadRequest, "the body must be application/x-www-form-urlencoded"))
		return
	}
	if err := c.Request.ParseForm(); err != nil {
		h.fail(c, f, fault.New(fault.BadRequest, "the form cannot be read: "+err.Error()))
		return
	}
	ctx := c.Request.Context()
	key, err := h.o.CheckKey(ctx, c.Request.Form.Get("api_key"))
	if err != nil {
		h.fail(c, f, err)
		return
	}
	sub, err := ingest.ParseSubmission(c.Request.Form)
	if err != nil {
		h.fail(c, f, err)
		return
	}
	res, created, err := h.o.Submit(ctx, key, sub)
	if err != nil {
		h.fail(c, f, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	h.render(c, f, status, "service_requests", []ingest.RequestCreated{res})
}
