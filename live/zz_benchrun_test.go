package live

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"strconv"
	"testing"
	"time"

	"whistlegrid/internal/dbtest"
)

func TestZZBenchRun(t *testing.T) {
	d, _ := time.ParseDuration(os.Getenv("BENCH_DURATION"))
	pool := dbtest.New(t)
	cl, _ := strconv.Atoi(os.Getenv("BENCH_CLIENTS"))
	res, err := BenchLive(context.Background(), pool, BenchConfig{Clients: cl, Duration: d, Logger: slog.New(slog.NewTextHandler(os.Stderr, nil))})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(res)
	t.Logf("%s", b)
}
