package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/jackc/pgx/v5/pgconn"

	"whistlegrid/fault"
	"whistlegrid/grid"
	"whistlegrid/whistle"
)

// sqlError is what a failed query returns: its text must never reach a client.
var sqlError = &pgconn.PgError{Severity: "ERROR", Code: "42703", Message: `column "secret_col" does not exist`,
	InternalQuery: "SELECT secret_col FROM users", Where: "PL/pgSQL function whistle_intake"}

func TestAnswer(t *testing.T) {
	codes := map[fault.Kind]struct {
		status int
		code   string
	}{
		fault.Internal:         {500, "internal"},
		fault.Invalid:          {422, "invalid"},
		fault.BadRequest:       {400, "bad_request"},
		fault.Unauthorized:     {401, "unauthorized"},
		fault.Forbidden:        {403, "forbidden"},
		fault.NotFound:         {404, "not_found"},
		fault.Conflict:         {409, "conflict"},
		fault.TooLarge:         {413, "too_large"},
		fault.TooMany:          {429, "too_many_requests"},
		fault.Unavailable:      {503, "unavailable"},
		fault.UnsupportedMedia: {415, "unsupported_media_type"},
	}
	type want struct {
		status               int
		code, message, field string
	}
	tests := []struct {
		name string
		err  error
		want want
	}{
		{"a whistle step outside the jurisdiction", fmt.Errorf("act: %w", fault.Errorf(whistle.ErrNotFound, "no whistle %d in your jurisdiction", 7)),
			want{404, "not_found", "no whistle 7 in your jurisdiction", ""}},
		{"a bad field", fault.FieldErrorf(whistle.ErrInvalid, "grade", "grade must be routine, priority or hard"),
			want{422, "invalid", "grade must be routine, priority or hard", "grade"}},
		{"a bare sentinel", whistle.ErrConflict, want{409, "conflict", "whistle: not allowed now", ""}},
		{"a bare kind", fault.Forbidden, want{403, "forbidden", "forbidden", ""}},
		{"a refused grid edit", &grid.Refusal{Rule: grid.RuleOverlap, Reason: "the outline overlaps 甲村 by 12 m²"},
			want{422, "invalid", "the outline overlaps 甲村 by 12 m²", "geometry"}},
		{"a wrapped pg error", fmt.Errorf("whistle: list: %w", sqlError), want{500, "internal", "internal error", ""}},
		{"an internal fault with a message", &fault.Error{Message: "SELECT went wrong", Err: sqlError}, want{500, "internal", "internal error", ""}},
		{"a mapped pg error keeps its cause out", &fault.Error{Kind: fault.Conflict, Message: "user \"a\" already exists", Err: sqlError},
			want{409, "conflict", "user \"a\" already exists", ""}},
		{"a plain error", errors.New("boom"), want{500, "internal", "internal error", ""}},
		{"context.Canceled", context.Canceled, want{statusClientClosed, "", "", ""}},
		{"a canceled query", fmt.Errorf("grid: features: %w", fmt.Errorf("timeout: %w", context.Canceled)), want{statusClientClosed, "", "", ""}},
	}
	for _, k := range fault.Kinds() {
		w := want{codes[k].status, codes[k].code, "a message", "f"}
		if k == fault.Internal {
			w.message, w.field = "internal error", ""
		}
		tests = append(tests, struct {
			name string
			err  error
			want want
		}{"kind " + k.String(), &fault.Error{Kind: k, Field: "f", Message: "a message"}, w})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, d := answer(tt.err)
			got := want{st, d.Code, d.Message, d.Field}
			if got != tt.want {
				t.Errorf("answer = %+v, want %+v", got, tt.want)
			}
			if strings.Contains(d.Message, "secret_col") || strings.Contains(d.Message, "SELECT") {
				t.Errorf("message %q holds SQL", d.Message)
			}
		})
	}
	if len(codes) != len(fault.Kinds()) {
		t.Errorf("the table covers %d kinds of %d", len(codes), len(fault.Kinds()))
	}
}

// TestFail holds the written answer: the JSON shape, the refusal's extra
// members, the cause of a 5xx in the log and not in the body.
func TestFail(t *testing.T) {
	tests := []struct {
		name    string
		err     error
		status  int
		body    string // a JSON document the body must equal; "" for none
		logged  bool
		logHold string
	}{
		{"not found", fault.Errorf(grid.ErrNotFound, "no grid %s in your jurisdiction", "110119"), 404,
			`{"error":{"code":"not_found","message":"no grid 110119 in your jurisdiction"}}`, false, ""},
		{"a field", fault.FieldErrorf(grid.ErrInvalid, "level", "level must be one of district, township, zone, village, household"), 422,
			`{"error":{"code":"invalid","message":"level must be one of district, township, zone, village, household","field":"level"}}`, false, ""},
		{"a refusal", &grid.Refusal{Rule: grid.RuleTooSmall, Reason: "too small", AreaM2: 0.5}, 422,
			`{"error":{"code":"invalid","message":"too small","field":"geometry","rule":"too_small","reason":"too small","area_m2":0.5}}`, false, ""},
		{"a pg error", fmt.Errorf("grid: features: %w", sqlError), 500,
			`{"error":{"code":"internal","message":"internal error"}}`, true, "secret_col"},
		{"unavailable", fault.New(fault.Unavailable, "the placement index is not loaded"), 503,
			`{"error":{"code":"unavailable","message":"the placement index is not loaded"}}`, true, "placement index"},
		{"canceled", fmt.Errorf("grid: features: %w", context.Canceled), statusClientClosed, "", false, ""},
	}
	gin.SetMode(gin.ReleaseMode)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			s := &Server{log: slog.New(slog.NewTextHandler(&logs, nil))}
			w := httptest.NewRecorder()
			c, _ := gin.CreateTestContext(w)
			c.Request = httptest.NewRequest(http.MethodGet, "/api/v1/grids", nil)
			s.fail(c, tt.err)
			if w.Code != tt.status || !c.IsAborted() {
				t.Errorf("status %d, aborted %v; want %d, aborted", w.Code, c.IsAborted(), tt.status)
			}
			if tt.body == "" {
				if w.Body.Len() != 0 {
					t.Errorf("body %s, want none", w.Body)
				}
			} else if !jsonEqual(t, w.Body.Bytes(), tt.body) {
				t.Errorf("body %s, want %s", w.Body, tt.body)
			}
			if strings.Contains(w.Body.String(), "secret_col") {
				t.Errorf("the body holds SQL: %s", w.Body)
			}
			if got := logs.Len() > 0; got != tt.logged || !strings.Contains(logs.String(), tt.logHold) {
				t.Errorf("logged %v %q, want logged %v holding %q", got, logs.String(), tt.logged, tt.logHold)
			}
		})
	}
}

// TestFailRetryAfter: a 429 always says when to try again, the error's
// own delay or a second; other answers only when their error gives one.
func TestFailRetryAfter(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"busy, with its delay", &fault.Error{Kind: fault.TooMany, Message: "busy", RetryAfter: 2 * time.Second}, "2"},
		{"a part of a second rounds up", &fault.Error{Kind: fault.TooMany, Message: "busy", RetryAfter: 1500 * time.Millisecond}, "2"},
		{"wrapped", fmt.Errorf("hotspot: %w", &fault.Error{Kind: fault.TooMany, RetryAfter: 5 * time.Second}), "5"},
		{"without a delay: the default", fault.New(fault.TooMany, "slow down"), "1"},
		{"a bare kind", fault.TooMany, "1"},
		{"unavailable, with a delay", &fault.Error{Kind: fault.Unavailable, Message: "the database is unavailable", RetryAfter: 3 * time.Second}, "3"},
		{"unavailable, without", fault.New(fault.Unavailable, "loading"), "5"},
		{"not found", fault.New(fault.NotFound, "no grid"), ""},
	}
	gin.SetMode(gin.ReleaseMode)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &Server{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
			w := httptest.NewRecorder()
			c, _ := gin.CreateTestContext(w)
			c.Request = httptest.NewRequest(http.MethodGet, "/api/v1/hotspots", nil)
			s.fail(c, tt.err)
			if got := w.Header().Get("Retry-After"); got != tt.want {
				t.Errorf("Retry-After %q, want %q (status %d)", got, tt.want, w.Code)
			}
		})
	}
}

func TestOpen311Error(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		status int
		desc   string
	}{
		{"an invalid argument is 400 with its field", fault.FieldErrorf(fault.New(fault.Invalid, "ingest: invalid"), "lat", "lat is required"), 400, "lat: lat is required"},
		{"not found", fault.New(fault.NotFound, "service_code X not found"), 404, "service_code X not found"},
		{"forbidden", fault.New(fault.Forbidden, "api_key is required"), 403, "api_key is required"},
		{"unavailable", fault.New(fault.Unavailable, "the placement index is not loaded"), 503, "the placement index is not loaded"},
		{"a pg error", fmt.Errorf("ingest: requests: %w", sqlError), 500, "internal error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, e := open311Error(tt.err)
			if st != tt.status || e.Code != tt.status || e.Description != tt.desc {
				t.Errorf("open311Error = %d %+v, want %d %q", st, e, tt.status, tt.desc)
			}
		})
	}
}

func jsonEqual(t *testing.T, got []byte, want string) bool {
	t.Helper()
	var a, b any
	if err := json.Unmarshal(got, &a); err != nil {
		t.Fatalf("body %s: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &b); err != nil {
		t.Fatal(err)
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}
