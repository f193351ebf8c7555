package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rdonboard/rdonboard/internal/redistest"
	"github.com/rdonboard/rdonboard/tasks"
)

// A --batch outside the documented character set stops the run (exit 2,
// naming --batch) before anything is enqueued; a default taken from an odd
// file name is made to fit it instead.
func TestMembersBatchNamesKeepTheirCharacterSet(t *testing.T) {
	t.Parallel()
	url := redistest.URL(t)
	path := writeCSV(t, "account_id,mobile_phone\n1000000000000001,13900000001\n")
	for _, bad := range []string{"=HYPERLINK(\"x\")", "-2+3", "q3 roster", strings.Repeat("a", 65), "名单"} {
		r := run(t, url, "members", path, "--batch", bad)
		if r.Code != 2 || !strings.Contains(r.Stderr, "--batch") {
			t.Errorf("--batch %q: exit %d, stderr %q; want 2 naming --batch", bad, r.Code, r.Stderr)
		}
	}
	if n := queueSize(t, url, tasks.QueueSend); n != 0 {
		t.Fatalf("send queue holds %d tasks after refused batch names, want 0", n)
	}
	odd := filepath.Join(t.TempDir(), "=cmd Q3 (final).csv")
	if err := os.WriteFile(odd, []byte("account_id,mobile_phone\n1000000000000002,13900000002\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := run(t, url, "members", odd); r.Code != 0 {
		t.Fatalf("members %s: exit %d: %s", odd, r.Code, r.Stderr)
	}
	m, err := store(t, url).Get(context.Background(), "1000000000000002")
	if err != nil || m.Batch != "cmd_Q3_final" {
		t.Errorf("batch from the file name = %q (%v), want cmd_Q3_final", m.Batch, err)
	}
}
