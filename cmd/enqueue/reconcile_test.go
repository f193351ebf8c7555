package main

import (
	"strings"
	"testing"

	"github.com/rdonboard/rdonboard/internal/redistest"
)

// With no worker alive, reconcile says so at once instead of waiting out
// its timeout (ten minutes here: the test would not end if it waited).
func TestReconcileWithoutWorkerSaysSoAtOnce(t *testing.T) {
	t.Parallel()
	r := run(t, redistest.URL(t), "reconcile", "--timeout", "10m")
	if r.Code != 2 || !strings.Contains(r.Stderr, "no worker is running") || !strings.Contains(r.Stderr, "--wait") {
		t.Errorf("exit %d, stderr %q; want 2 and that no worker runs", r.Code, r.Stderr)
	}
}

// With --wait it enqueues the run and waits for a worker, up to --timeout.
func TestReconcileWaitWaitsForAWorker(t *testing.T) {
	t.Parallel()
	r := run(t, redistest.URL(t), "reconcile", "--wait", "--timeout", "1s")
	if r.Code != 2 || strings.Contains(r.Stderr, "no worker is running") || !strings.Contains(r.Stderr, "no summary yet") {
		t.Errorf("exit %d, stderr %q; want 2 after waiting for a summary", r.Code, r.Stderr)
	}
}
