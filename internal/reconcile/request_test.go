package reconcile_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rdonboard/rdonboard/internal/harness"
	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/internal/reconcile"
	"github.com/rdonboard/rdonboard/internal/runlog"
	"github.com/rdonboard/rdonboard/tasks"
)

func TestRequestWaitsForTheWorkersSummary(t *testing.T) {
	t.Parallel()
	b := setup(t, harness.Options{})
	row := harness.Members(0, 1)[0]
	b.admit(t, row)
	b.move(t, row.AccountID, member.Pending, member.Bound)
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()

	s, err := reconcile.Request(ctx, b.env.Client, b.runs, reconcile.RequestOptions{VerifyAll: true})

	if err != nil {
		t.Fatalf("request: %v", err)
	}
	if !s.Manual() || !s.VerifyAll || s.Outcome() != "finished" || s.Drift.Count != 1 || s.MembersScanned != 1 {
		t.Errorf("summary %+v, want a finished manual verify-all run that found the drift", s)
	}
	var out bytes.Buffer
	if err := runlog.WriteText(&out, s); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"reconciliation run " + s.Slot + " (manual, verify-all) finished", "members scanned: 1", "DRIFT: 1 members", row.AccountID} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("text summary lacks %q:\n%s", want, out.String())
		}
	}
}

func TestRequestWithoutWorkerTimesOut(t *testing.T) {
	t.Parallel()
	b := setup(t, harness.Options{Workers: -1})
	ctx, cancel := context.WithTimeout(b.ctx, 300*time.Millisecond)
	defer cancel()
	_, err := reconcile.Request(ctx, b.env.Client, b.runs, reconcile.RequestOptions{Poll: 50 * time.Millisecond})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("request without a worker: %v, want a deadline error", err)
	}
}

// TestWaitOutOfTimeMidReadSaysNoSummary: a wait whose time runs out while
// it reads the summaries (here: before its first read) tells the operator
// no summary came, not that Redis could not be read.
func TestWaitOutOfTimeMidReadSaysNoSummary(t *testing.T) {
	t.Parallel()
	b := setup(t, harness.Options{Workers: -1})
	ctx, cancel := context.WithCancel(b.ctx)
	cancel()
	_, err := reconcile.Wait(ctx, b.runs, "manual-1", 50*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "no summary yet") || !errors.Is(err, context.Canceled) {
		t.Errorf("wait out of time: %v, want no summary yet (context canceled)", err)
	}
}

func TestOverlappingRunsAreSkippedOrWait(t *testing.T) {
	t.Parallel()
	b := setup(t, harness.Options{Workers: -1})
	// Another process's run holds the lock for a second.
	if err := b.env.Redis.Set(b.ctx, b.env.Store.Prefix()+"reconcile:lock", "elsewhere", time.Second).Err(); err != nil {
		t.Fatal(err)
	}

	scheduled, err := b.rec.Run(b.ctx, "2026-03-01T10:00:00Z", false)
	if err != nil || scheduled.Outcome() != "skipped" {
		t.Errorf("scheduled run while another runs: %s %v, want skipped", scheduled.Outcome(), err)
	}
	manual := b.run(t, false) // waits for the lock to lapse
	if manual.StartedAt.Sub(scheduled.StartedAt) < 500*time.Millisecond {
		t.Errorf("manual run started %s after the lock was taken, want it to wait for it", manual.StartedAt.Sub(scheduled.StartedAt))
	}

	task, _ := tasks.NewReconcile("2026-03-01T10:10:00Z", false)
	for range 2 { // a redelivery of a finished slot
		if err := b.rec.Handle(b.ctx, task); err != nil {
			t.Fatal(err)
		}
	}
	runs, _ := b.runs.Last(b.ctx, runlog.MaxRuns)
	if len(runs) != 3 {
		t.Errorf("%d summaries stored, want 3 (skipped, manual, one for the redelivered slot)", len(runs))
	}
}
