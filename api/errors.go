package api

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/jackc/pgx/v5/pgconn"

	"whistlegrid/fault"
	"whistlegrid/grid"
	"whistlegrid/ingest"
)

// errorBody is the one JSON shape of every error:
// {"error":{"code":"not_found","message":"...","field":"..."}}.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// refusalBody is a refused grid edit: the error shape with the rule and
// the grids and households at fault beside the message:
// {"error":{"code":"invalid","message","field":"geometry","rule",
// "area_m2","siblings":[...],"households":[...]}}.
type refusalBody struct {
	Error refusalDetail `json:"error"`
}

type refusalDetail struct {
	errorDetail
	*grid.Refusal
}

// statusClientClosed is the status recorded (nginx's 499) when the client
// went away before the answer: nothing is sent, and nothing logged as a
// failure.
const statusClientClosed = 499

// status is the HTTP status of each kind of fault.
func status(k fault.Kind) int {
	switch k {
	case fault.Invalid:
		return http.StatusUnprocessableEntity
	case fault.BadRequest:
		return http.StatusBadRequest
	case fault.Unauthorized:
		return http.StatusUnauthorized
	case fault.Forbidden:
		return http.StatusForbidden
	case fault.NotFound:
		return http.StatusNotFound
	case fault.Conflict:
		return http.StatusConflict
	case fault.TooLarge:
		return http.StatusRequestEntityTooLarge
	case fault.TooMany:
		return http.StatusTooManyRequests
	case fault.Unavailable:
		return http.StatusServiceUnavailable
	case fault.UnsupportedMedia:
		return http.StatusUnsupportedMediaType
	}
	return http.StatusInternalServerError
}

// answer is the one mapping from an error to what the client is told: the
// status and the error's code, message and field. A *fault.Error (the
// outermost in err's chain) gives its kind's status and its own message
// and field. Of the rest, the database being unreachable
// (databaseUnavailable) and a request past its deadline are Unavailable
// (503); an Internal error, or any other, is 500 "internal error", so no
// SQL and no database text ever reaches the client. A canceled request is
// statusClientClosed with no detail.
func answer(err error) (int, errorDetail) {
	if errors.Is(err, context.Canceled) {
		return statusClientClosed, errorDetail{}
	}
	var fe *fault.Error
	var kind fault.Kind
	switch {
	case errors.As(err, &fe) && fe.Kind != fault.Internal:
		msg := fe.Message
		if msg == "" {
			msg = fe.Kind.String()
		}
		return status(fe.Kind), errorDetail{Code: fe.Kind.String(), Message: msg, Field: fe.Field}
	case fe == nil && errors.As(err, &kind) && kind != fault.Internal:
		return status(kind), errorDetail{Code: kind.String(), Message: kind.String()}
	case errors.Is(err, context.DeadlineExceeded):
		return status(fault.Unavailable), errorDetail{Code: fault.Unavailable.String(),
			Message: "the request did not finish within its deadline; the server is busy, retry later"}
	case databaseUnavailable(err):
		return status(fault.Unavailable), errorDetail{Code: fault.Unavailable.String(),
			Message: "the database is unavailable; retry in a few seconds"}
	}
	return http.StatusInternalServerError, errorDetail{Code: fault.Internal.String(), Message: "internal error"}
}

// databaseUnavailable reports whether err says the database cannot be
// reached, rather than that a query is wrong: a failed connect
// (pgconn.ConnectError, whatever the server said, e.g. that the database
// does not accept connections), a connection broken or closed under a
// query (a net.Error, an unexpected EOF, pgconn.ErrConnClosed), or the
// server refusing work while it shuts down, crashes or recovers
// (SQLSTATE class 08, 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03
// cannot_connect_now). Waiting for a pool connection past the request's
// deadline is a deadline error (context.DeadlineExceeded, itself a
// net.Error), which answer tells apart first and maps to 503 as well.
func databaseUnavailable(err error) bool {
	var ce *pgconn.ConnectError
	var pe *pgconn.PgError
	var ne net.Error
	switch {
	case errors.As(err, &ce), errors.As(err, &ne), errors.Is(err, pgconn.ErrConnClosed), errors.Is(err, io.ErrUnexpectedEOF):
		return true
	case errors.As(err, &pe):
		return strings.HasPrefix(pe.Code, "08") || pe.Code == "57P01" || pe.Code == "57P02" || pe.Code == "57P03"
	}
	return false
}

// Retry-After of a 503 or 429 whose error (fault.Error.RetryAfter) and
// sender set none: a database failover takes seconds.
const (
	retryAfterUnavailable = 5 * time.Second
	retryAfterTooMany     = time.Second
)

// retryAfter is the Retry-After header of an answer with status st: the
// error's fault.Error.RetryAfter when it gives one; else on a 429
// retryAfterTooMany and on a 503 retryAfterUnavailable; "" for none.
// Whole seconds, rounded up, at least 1.
func retryAfter(st int, err error) string {
	var d time.Duration
	if fe := (*fault.Error)(nil); errors.As(err, &fe) {
		d = fe.RetryAfter
	}
	if d <= 0 {
		switch st {
		case http.StatusTooManyRequests:
			d = retryAfterTooMany
		case http.StatusServiceUnavailable:
			d = retryAfterUnavailable
		}
	}
	if d <= 0 {
		return ""
	}
	return strconv.FormatInt(max(1, int64((d+time.Second-1)/time.Second)), 10)
}

// setRetryAfter gives the answer its Retry-After (retryAfter) unless the
// code that refused the request set one.
func setRetryAfter(c *gin.Context, st int, err error) {
	if c.Writer.Header().Get("Retry-After") != "" {
		return
	}
	if ra := retryAfter(st, err); ra != "" {
		c.Header("Retry-After", ra)
	}
}

// fail answers err and stops the chain: every handler's one way to
// answer an error. It logs the cause of a 5xx; a refused grid edit gets
// its rule and the grids at fault beside the message; a 429 says in
// Retry-After when to try again.
func (s *Server) fail(c *gin.Context, err error) {
	st, d := answer(err)
	if st == statusClientClosed {
		c.AbortWithStatus(st)
		return
	}
	logFailure(s.log, c, st, err)
	setRetryAfter(c, st, err)
	var r *grid.Refusal
	if st == http.StatusUnprocessableEntity && errors.As(err, &r) {
		c.AbortWithStatusJSON(st, refusalBody{Error: refusalDetail{errorDetail: d, Refusal: r}})
		return
	}
	c.AbortWithStatusJSON(st, errorBody{Error: d})
}

// logFailure logs the cause of a 5xx answer: a part not running (503) as
// a warning, anything else as an error.
func logFailure(log *slog.Logger, c *gin.Context, status int, err error) {
	ctx := c.Request.Context()
	switch {
	case status == http.StatusServiceUnavailable:
		log.WarnContext(ctx, "request unavailable", slog.String("path", c.Request.URL.Path), slog.Any("err", err))
	case status >= 500:
		log.ErrorContext(ctx, "request failed", slog.String("path", c.Request.URL.Path), slog.Any("err", err))
	}
}

// codeMethodNotAllowed is the error code of a 405: no fault kind, since
// only the router refuses a method.
const codeMethodNotAllowed = "method_not_allowed"

// noRoute answers a path no route has, in the error shape of its area:
// JSON under /api and /tiles, Open311's array under /open311 (XML when the
// path ends in .xml); elsewhere a GET or HEAD is the frontend's (a page,
// or an asset), anything else a JSON 404.
func (s *Server) noRoute(frontend http.Handler) gin.HandlerFunc {
	return func(c *gin.Context) {
		p := c.Request.URL.Path
		area, _ := corsArea(p)
		switch {
		case area == "/open311":
			s.failOpen311(c, fault.New(fault.NotFound, "no such Open311 resource: "+c.Request.Method+" "+p))
		case area != "":
			s.fail(c, fault.New(fault.NotFound, "no such route: "+c.Request.Method+" "+p))
		case frontend != nil && (c.Request.Method == http.MethodGet || c.Request.Method == http.MethodHead):
			frontend.ServeHTTP(c.Writer, c.Request)
		default:
			s.fail(c, fault.New(fault.NotFound, "not found"))
		}
	}
}

// noMethod answers a method a route does not take: 405 with the Allow
// header the router set, in the error shape of the path's area.
func (s *Server) noMethod(c *gin.Context) {
	allow := c.Writer.Header().Get("Allow")
	msg := c.Request.Method + " is not allowed on " + c.Request.URL.Path + "; allowed: " + allow
	if area, _ := corsArea(c.Request.URL.Path); area == "/open311" {
		_, f, _ := splitFormat(path.Base(c.Request.URL.Path))
		(&open311API{log: s.log}).render(c, f, http.StatusMethodNotAllowed, "errors",
			[]ingest.Open311Error{{Code: http.StatusMethodNotAllowed, Description: msg}})
		c.Abort()
		return
	}
	c.AbortWithStatusJSON(http.StatusMethodNotAllowed, errorBody{Error: errorDetail{Code: codeMethodNotAllowed, Message: msg}})
}

// failOpen311 answers err in Open311's error shape, in XML when the
// path ends in .xml.
func (s *Server) failOpen311(c *gin.Context, err error) {
	_, f, _ := splitFormat(path.Base(c.Request.URL.Path))
	(&open311API{log: s.log}).fail(c, f, err)
}
