package main

import (
	"context"
	"encoding/csv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/rdonboard/rdonboard/internal/cli/clitest"
	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/internal/phone"
	"github.com/rdonboard/rdonboard/internal/redistest"
	"github.com/rdonboard/rdonboard/internal/web"
)

const linkSecret = "links-test-secret-0123456789"

// TestStatusLinksOneRowPerPhoneToBind: --links prints one owner link per
// phone that still has members to bind, with its masked phone and account
// count, under ONBOARD_PUBLIC_URL; a finished phone gets none.
func TestStatusLinksOneRowPerPhoneToBind(t *testing.T) {
	t.Parallel()
	url := redistest.URL(t)
	opt, _ := redis.ParseURL(url)
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { rdb.Close() })
	s := member.New(rdb, member.Options{})
	ctx := context.Background()
	cands := []member.Candidate{
		{AccountID: "2000000000000001", Phone: "86-13900007001", Batch: "b"},
		{AccountID: "2000000000000002", Phone: "86-13900007001", Batch: "b"},
		{AccountID: "2000000000000003", Phone: "86-13900007001", Batch: "b"},
		{AccountID: "2000000000000004", Phone: "86-13900007002", Batch: "b"},
		{AccountID: "2000000000000005", Phone: "86-13900007003", Batch: "b"},
	}
	if _, err := s.Admit(ctx, cands, member.AdmitOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"2000000000000001", "2000000000000004"} {
		if _, err := s.Transition(ctx, id, member.Move{From: []member.State{member.Pending}, To: member.Bound, Reason: "test"}); err != nil {
			t.Fatal(err)
		}
	}
	r := clitest.Run(t, "worker", url, []string{"ONBOARD_LINK_SECRET=" + linkSecret, "ONBOARD_PUBLIC_URL=https://onboard.example/"},
		"status", "--links")
	recs, err := csv.NewReader(strings.NewReader(r.Stdout)).ReadAll()
	if err != nil || r.Code != 0 || len(recs) != 3 {
		t.Fatalf("--links (exit %d): %v, %d records, want a header and 2 phones:\n%s\n%s", r.Code, err, len(recs), r.Stdout, r.Stderr)
	}
	if strings.Join(recs[0], ",") != "mobile_phone,accounts,url,expires_at" {
		t.Errorf("header %v", recs[0])
	}
	want := map[string]string{"86-139****7001": "3", "86-139****7003": "1"}
	links := web.NewLinks(linkSecret, nil)
	for _, rec := range recs[1:] {
		if want[rec[0]] != rec[1] {
			t.Errorf("row %v: want one of %v", rec, want)
		}
		_, seg, _ := strings.Cut(rec[2], "https://onboard.example"+web.OwnerPath)
		if ph, err := links.ReadPhone(seg); err != nil || phone.Mask(ph) != rec[0] {
			t.Errorf("row %v: link reads as %q, %v; want its phone", rec, phone.Mask(ph), err)
		}
	}
	if strings.Contains(r.Stdout, "13900007001") {
		t.Errorf("full phone in --links output:\n%s", r.Stdout)
	}
}
