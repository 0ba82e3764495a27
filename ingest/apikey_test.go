package ingest_test

import (
	"context"
	"errors"
	"testing"

	"whistlegrid/fault"
	"whistlegrid/ingest"
	"whistlegrid/internal/dbtest"
)

func TestOpen311APIKeys(t *testing.T) {
	pool := dbtest.New(t)
	ctx := context.Background()
	o := ingest.NewOpen311(pool, nil, ingest.Open311Options{})
	for i := 0; i < 2; i++ { // the second time changes nothing
		if err := ingest.AddAPIKey(ctx, pool, "demo client", "demo"); err != nil {
			t.Fatal(err)
		}
	}
	var n int
	var stored []byte
	if err := pool.QueryRow(ctx, `SELECT count(*), (array_agg(key_hash))[1] FROM api_keys`).Scan(&n, &stored); err != nil || n != 1 || len(stored) != 32 {
		t.Fatalf("%d keys stored (%v), want 1 hashed", n, err)
	}
	k, err := o.CheckKey(ctx, "demo")
	if err != nil || k.Name != "demo client" || k.ID == 0 {
		t.Fatalf("CheckKey(demo) = %+v, %v", k, err)
	}
	if err := ingest.AddAPIKey(ctx, pool, "old client", "old"); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `UPDATE api_keys SET revoked_at = now() WHERE name = 'old client'`); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"", "Demo", "old"} {
		if _, err := o.CheckKey(ctx, key); !errors.Is(err, ingest.ErrForbidden) {
			t.Errorf("CheckKey(%q): %v, want ErrForbidden", key, err)
		}
	}
	var fe *fault.Error
	if err := ingest.AddAPIKey(ctx, pool, " ", "k"); !errors.As(err, &fe) || fe.Field != "name" {
		t.Errorf("a key without a name: %v", err)
	}
	if err := ingest.AddAPIKey(ctx, pool, "x", ""); !errors.As(err, &fe) || fe.Field != "key" {
		t.Errorf("an empty key: %v", err)
	}
	if _, _, err := o.Submit(ctx, k, ingest.Submission{ServiceCode: "CM.01.03"}); !errors.Is(err, ingest.ErrUnavailable) {
		t.Errorf("Submit without a whistle store: %v, want ErrUnavailable", err)
	}
}
