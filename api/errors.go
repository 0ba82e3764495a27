package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"

	"whistlegrid/auth"
	"whistlegrid/grid"
)

// errorBody is the one JSON shape of every error:
// {"error":{"code":"not_found","message":"..."}}.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// abort answers with the error shape and stops the chain.
func abort(c *gin.Context, status int, code, msg string) {
	c.AbortWithStatusJSON(status, errorBody{Error: errorDetail{Code: code, Message: msg}})
}

// abortField answers 422 naming the field that is wrong.
func abortField(c *gin.Context, field, msg string) {
	c.AbortWithStatusJSON(http.StatusUnprocessableEntity, errorBody{Error: errorDetail{Code: "invalid", Message: msg, Field: field}})
}

// fail maps a store error to a status. Known sentinels carry their message
// to the client; anything else is logged and answered 500 without detail,
// so the client never sees SQL.
func (s *Server) fail(c *gin.Context, err error) {
	switch {
	case errors.Is(err, grid.ErrNotFound):
		abort(c, http.StatusNotFound, "not_found", err.Error())
	case errors.Is(err, grid.ErrInvalid), errors.Is(err, auth.ErrInvalid):
		abort(c, http.StatusUnprocessableEntity, "invalid", err.Error())
	case errors.Is(err, auth.ErrConflict):
		abort(c, http.StatusConflict, "conflict", err.Error())
	case errors.Is(err, auth.ErrBadCredentials), errors.Is(err, auth.ErrBadToken):
		abort(c, http.StatusUnauthorized, "unauthorized", err.Error())
	case errors.Is(err, context.Canceled):
		c.Abort() // the client went away
	default:
		s.log.ErrorContext(c.Request.Context(), "request failed", slog.String("path", c.FullPath()), slog.Any("err", err))
		abort(c, http.StatusInternalServerError, "internal", "internal error")
	}
}
