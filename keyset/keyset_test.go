package keyset

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestCursor(t *testing.T) {
	newest := Order{Name: "newest", Key: "c.reported_at", ID: "c.id", Kind: Time, Desc: true}
	deadline := Order{Name: "deadline", Key: "w.resolve_due", ID: "w.id", Kind: Time}
	code := Order{Name: "code", Key: "g.code", ID: "g.id", Kind: Text}
	at := time.Date(2026, 11, 25, 9, 30, 0, 123456000, time.FixedZone("CST", 8*3600))

	c, err := Parse(newest.Next(at, 42).String())
	if err != nil || c.Sort != "newest" || c.ID != 42 {
		t.Fatalf("round trip: %+v %v", c, err)
	}
	var args []any
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	sql, err := newest.After(c, arg)
	if err != nil || sql != "(c.reported_at, c.id) < ($1, $2)" || !args[0].(time.Time).Equal(at) || args[1] != int64(42) {
		t.Errorf("after: %q %v %v", sql, args, err)
	}
	if by := newest.By(); by != " ORDER BY c.reported_at DESC, c.id DESC" {
		t.Errorf("by %q", by)
	}
	args = nil
	if sql, err := code.After(code.Next("110119101", 7), arg); err != nil || sql != "(g.code, g.id) > ($1, $2)" || args[0] != "110119101" {
		t.Errorf("text after: %q %v %v", sql, args, err)
	}
	if _, err := deadline.After(c, arg); !errors.Is(err, ErrCursor) || !strings.Contains(err.Error(), "sort=newest") {
		t.Errorf("a cursor of another sort: %v", err)
	}
	for _, bad := range []string{"", "x", "eyJ9", Cursor{Sort: "newest", Key: "yesterday"}.String()} {
		c, err := Parse(bad)
		if err == nil {
			_, err = newest.After(c, arg)
		}
		if !errors.Is(err, ErrCursor) {
			t.Errorf("%q: %v, want ErrCursor", bad, err)
		}
	}
	rows, more := Trim([]int{1, 2, 3}, 2)
	if len(rows) != 2 || !more {
		t.Errorf("trim %v %v", rows, more)
	}
	if rows, more := Trim([]int{1, 2}, 2); len(rows) != 2 || more {
		t.Errorf("trim %v %v", rows, more)
	}
}
