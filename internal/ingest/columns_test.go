package ingest_test

import (
	"context"
	"strings"
	"testing"

	"github.com/rdonboard/rdonboard/internal/ingest"
	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/internal/redistest"
	"github.com/rdonboard/rdonboard/internal/roster"
)

// The roster's display_name and email reach the member store, where the
// owner's page and messages read them.
func TestDisplayNameAndEmailReachTheStore(t *testing.T) {
	t.Parallel()
	rdb := redistest.DB(t)
	store := member.New(rdb, member.Options{})
	csv := "account_id,mobile_phone,DisplayName,owner_email\n" +
		"1000000000000001,13900001234,支付-生产,ann@example.com\n" +
		"1000000000000002,13900001234,,\n"
	rd, err := roster.NewReader(strings.NewReader(csv))
	if err != nil {
		t.Fatal(err)
	}
	sum, err := ingest.New(store, ingest.NewClient(rdb)).Run(context.Background(), rd, ingest.Options{Batch: "b"}, ingest.Hooks{})
	if err != nil || sum.Accepted != 2 {
		t.Fatalf("run: %+v, %v", sum, err)
	}
	m, err := store.Get(context.Background(), "1000000000000001")
	if err != nil || m.DisplayName != "支付-生产" || m.Email != "ann@example.com" {
		t.Errorf("member 1 = %+v, %v", m, err)
	}
	m, err = store.Get(context.Background(), "1000000000000002")
	if err != nil || m.DisplayName != "" || m.Email != "" {
		t.Errorf("member 2 = %+v, %v", m, err)
	}
}
