package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"whistlegrid/fault"
	"whistlegrid/grid"
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
	}
	return http.StatusInternalServerError
}

// answer is the one mapping from an error to what the client is told: the
// status and the error's code, message and field. A *fault.Error (the
// outermost in err's chain) gives its kind's status and its own message
// and field; an Internal one, or any other error, is 500 "internal
// error", so no SQL and no database text ever reaches the client. A
// canceled request is statusClientClosed with no detail.
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
	}
	return http.StatusInternalServerError, errorDetail{Code: fault.Internal.String(), Message: "internal error"}
}

// defaultRetryAfter is the Retry-After of a 429 whose error does not say.
const defaultRetryAfter = time.Second

// retryAfter is the Retry-After header of an answer with status st: on a
// 429 always (the error's fault.Error.RetryAfter, else defaultRetryAfter),
// on any other status when the error gives one; "" for none. Whole
// seconds, rounded up, at least 1.
func retryAfter(st int, err error) string {
	var d time.Duration
	if fe := (*fault.Error)(nil); errors.As(err, &fe) {
		d = fe.RetryAfter
	}
	if d <= 0 && st == http.StatusTooManyRequests {
		d = defaultRetryAfter
	}
	if d <= 0 {
		return ""
	}
	return strconv.FormatInt(max(1, int64((d+time.Second-1)/time.Second)), 10)
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
	if ra := retryAfter(st, err); ra != "" {
		c.Header("Retry-After", ra)
	}
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
