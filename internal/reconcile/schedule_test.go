package reconcile_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/rdonboard/rdonboard/internal/config"
	"github.com/rdonboard/rdonboard/internal/harness"
	"github.com/rdonboard/rdonboard/internal/reconcile"
	"github.com/rdonboard/rdonboard/internal/runlog"
	"github.com/rdonboard/rdonboard/internal/testwait"
)

func TestTwoWorkersRunOncePerSlot(t *testing.T) {
	t.Parallel()
	b := setup(t, harness.Options{Workers: 2, Configure: func(c *config.Config) { c.ReconcileCron = "@every 1s" }})
	b.admit(t, harness.Members(0, 20)...)

	// Both workers look at every slot; wait until four slots have a run.
	testwait.Until(t, 20*time.Second, "runs of four schedule slots", func() bool {
		runs, err := b.runs.Last(b.ctx, runlog.MaxRuns)
		return err == nil && len(runs) >= 4
	})
	b.env.Worker(0).Stop()
	b.env.Worker(1).Stop()

	runs, err := b.runs.Last(b.ctx, runlog.MaxRuns)
	if err != nil {
		t.Fatal(err)
	}
	perSlot := map[string]int{}
	for _, r := range runs {
		perSlot[r.Slot]++
		if _, err := time.Parse(time.RFC3339, r.Slot); err != nil {
			t.Errorf("slot %q is not a schedule slot", r.Slot)
		}
	}
	for slot, n := range perSlot {
		if n != 1 {
			t.Errorf("slot %s ran %d times, want once", slot, n)
		}
	}
	t.Logf("runs per slot: %v", perSlot)
	if len(perSlot) < 2 {
		t.Errorf("%d slots ran of a 1s schedule, want several: %v", len(perSlot), perSlot)
	}
	enqueued := enqueuesPerSlot(t, b.env.Logs())
	for slot, n := range enqueued {
		if n != 1 {
			t.Errorf("slot %s enqueued %d times by the two schedulers, want once", slot, n)
		}
	}
	if len(enqueued) < len(perSlot) {
		t.Errorf("enqueued slots %v, fewer than the runs %v", enqueued, perSlot)
	}
}

// enqueuesPerSlot counts the schedulers' "run enqueued" log lines by slot.
func enqueuesPerSlot(t *testing.T, logs string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, line := range strings.Split(logs, "\n") {
		var e struct{ Msg, Slot string }
		if json.Unmarshal([]byte(line), &e) == nil && e.Msg == "reconciliation run enqueued" {
			out[e.Slot]++
		}
	}
	return out
}

func TestEverySlotsAreTheSameForEveryProcess(t *testing.T) {
	t.Parallel()
	sched, err := cron.ParseStandard("@every 1m")
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	for _, started := range []time.Duration{7 * time.Second, 23*time.Second + 400*time.Millisecond, 59 * time.Second} {
		if got := reconcile.Next(sched, base.Add(started)); !got.Equal(base.Add(time.Minute)) {
			t.Errorf("process at +%s: next slot %s, want %s", started, got, base.Add(time.Minute))
		}
	}
	if got := reconcile.SlotName(base.In(time.FixedZone("CST", 8*3600))); got != "2026-03-01T10:00:00Z" {
		t.Errorf("slot name %s, want UTC RFC 3339", got)
	}
}

// TestSchedulerStopsCleanly: Shutdown may be called twice, and a scheduler
// whose Start failed (a bad schedule) counts as stopped: Done is closed
// and Shutdown does not wait out its deadline.
func TestSchedulerStopsCleanly(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	bad := reconcile.NewScheduler(reconcile.SchedulerParams{Spec: "not a schedule"})
	if err := bad.Start(ctx); err == nil {
		t.Fatal("a bad schedule started")
	}
	select {
	case <-bad.Done():
	default:
		t.Error("Done not closed after Start failed")
	}
	good := reconcile.NewScheduler(reconcile.SchedulerParams{Spec: "@every 1h"})
	if err := good.Start(ctx); err != nil {
		t.Fatal(err)
	}
	for _, s := range []*reconcile.Scheduler{bad, good} {
		for i := 0; i < 2; i++ {
			if err := s.Shutdown(ctx); err != nil {
				t.Errorf("Shutdown %d: %v", i+1, err)
			}
		}
	}
}
