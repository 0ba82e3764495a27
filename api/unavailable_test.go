package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/jackc/pgx/v5/pgconn"

	"whistlegrid/fault"
)

// TestAnswerDatabaseUnavailable: every way the database can be out of
// reach is 503 "unavailable" saying so, a request past its deadline is
// 503 saying that, and a query that is wrong stays 500; a fault.Error
// keeps its own kind whatever it wraps.
func TestAnswerDatabaseUnavailable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, connectErr := pgconn.Connect(ctx, "postgres://postgres@127.0.0.1:1/none?sslmode=disable&connect_timeout=2")
	var ce *pgconn.ConnectError
	if !errors.As(connectErr, &ce) {
		t.Fatalf("connecting to a closed port: %T %v, want a *pgconn.ConnectError", connectErr, connectErr)
	}
	pg := func(code string) error {
		return fmt.Errorf("whistle: intake: %w", &pgconn.PgError{Severity: "FATAL", Code: code})
	}
	const down, late = "the database is unavailable", "deadline"
	tests := []struct {
		name   string
		err    error
		status int
		says   string
	}{
		{"connect refused", fmt.Errorf("auth: authenticate: %w", connectErr), 503, down},
		{"connection exception 08006", pg("08006"), 503, down},
		{"connection exception 08001", pg("08001"), 503, down},
		{"admin shutdown 57P01", pg("57P01"), 503, down},
		{"crash shutdown 57P02", pg("57P02"), 503, down},
		{"cannot connect now 57P03", pg("57P03"), 503, down},
		{"connection reset", fmt.Errorf("grid: %w", &net.OpError{Op: "read", Net: "tcp", Err: errors.New("connection reset by peer")}), 503, down},
		{"broken off", fmt.Errorf("failed to receive message: %w", io.ErrUnexpectedEOF), 503, down},
		{"conn closed", fmt.Errorf("live: %w", pgconn.ErrConnClosed), 503, down},
		{"an Internal fault over a lost connection", &fault.Error{Kind: fault.Internal, Message: "x", Err: pg("57P01")}, 503, down},
		{"deadline", fmt.Errorf("whistle: list: %w", context.DeadlineExceeded), 503, late},
		{"pool acquire past the deadline", fmt.Errorf("timeout: %w", context.DeadlineExceeded), 503, late},
		{"a wrong query", pg("42703"), 500, "internal error"},
		{"a query canceled by the server", pg("57014"), 500, "internal error"},
		{"not found over a lost connection", &fault.Error{Kind: fault.NotFound, Message: "no such grid", Err: pg("57P01")}, 404, "no such grid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, d := answer(tt.err)
			if st != tt.status || !strings.Contains(d.Message, tt.says) {
				t.Errorf("answer = %d %+v, want %d saying %q", st, d, tt.status, tt.says)
			}
		})
	}
}

// TestFailSetsRetryAfter: a 503 and a 429 carry Retry-After, the default
// unless the refusing code set its own; other answers none.
func TestFailSetsRetryAfter(t *testing.T) {
	s := &Server{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	tests := []struct {
		name, preset string
		err          error
		want         string
	}{
		{"database down", "", pgconnLost(), "5"},
		{"unavailable", "", fault.New(fault.Unavailable, "not running"), "5"},
		{"too many", "", fault.New(fault.TooMany, "slow down"), "1"},
		{"too many, own wait", "42", fault.New(fault.TooMany, "slow down"), "42"},
		{"not found", "", fault.New(fault.NotFound, "no"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			c, _ := gin.CreateTestContext(rec)
			c.Request = httptest.NewRequest(http.MethodGet, "/api/v1/x", nil)
			if tt.preset != "" {
				c.Header("Retry-After", tt.preset)
			}
			s.fail(c, tt.err)
			if got := rec.Header().Get("Retry-After"); got != tt.want {
				t.Errorf("Retry-After %q, want %q (status %d)", got, tt.want, rec.Code)
			}
		})
	}
}

func pgconnLost() error { return fmt.Errorf("x: %w", &pgconn.PgError{Code: "57P01"}) }
