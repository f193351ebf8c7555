package flow_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/rdonboard/rdonboard/internal/cloud"
	"github.com/rdonboard/rdonboard/internal/flow"
	"github.com/rdonboard/rdonboard/internal/harness"
	"github.com/rdonboard/rdonboard/internal/ingest"
	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/internal/sandbox"
	"github.com/rdonboard/rdonboard/internal/worker"
	"github.com/rdonboard/rdonboard/tasks"
)

type windowClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *windowClock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *windowClock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

// TestNoSMSOutsideTheSendWindow: at 23:00 a send snoozes until 09:00 and
// the member says waiting_for=send_window; no SMS leaves; at 09:00 the same
// task sends.
func TestNoSMSOutsideTheSendWindow(t *testing.T) {
	t.Parallel()
	env := harness.Start(t, harness.Options{Workers: -1})
	loc := time.FixedZone("UTC+8", 8*3600)
	clock := &windowClock{t: time.Date(2026, 12, 3, 23, 0, 0, 0, loc)}
	cfg := env.Config
	cfg.SendWindow, cfg.Timezone = "09:00-21:00", "Asia/Shanghai"
	sdk, err := cloud.New(cloud.Config{Endpoint: env.CloudURL, AccessKeyID: sandbox.DefaultAccessKeyID,
		AccessKeySecret: sandbox.DefaultAccessKeySecret, ReadTimeout: cfg.CloudTimeout})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sdk.Close)
	f := worker.BuildFlow(worker.Deps{Config: cfg, Redis: env.Redis, Cloud: sdk, Logger: env.Logger, Now: clock.Now})
	row := harness.Members(0, 1)[0]
	env.Enqueue("night", []harness.Row{row}, ingest.Options{})
	ctx := context.Background()
	send, _ := tasks.NewSendCode(row.AccountID, tasks.Step{Generation: 1})

	err = f.HandleSend(ctx, send)
	if !flow.IsSnooze(err) {
		t.Fatalf("send at 23:00 returned %v, want a snooze", err)
	}
	if d := flow.RetryDelay(0, err, send); d != 10*time.Hour {
		t.Errorf("snoozed for %s, want 10h (until 09:00)", d)
	}
	if n := env.Sandbox.Stats().SMSSent; n != 0 {
		t.Fatalf("%d SMS sent outside the window", n)
	}
	if m, _ := env.Store.Get(ctx, row.AccountID); m.WaitingFor != member.WaitingSendWindow {
		t.Errorf("waiting_for = %q, want send_window", m.WaitingFor)
	}

	clock.Set(time.Date(2026, 12, 4, 9, 0, 0, 0, loc))
	if err := f.HandleSend(ctx, send); err != nil {
		t.Fatal(err)
	}
	m, _ := env.Store.Get(ctx, row.AccountID)
	if m.State != member.CodeSent || m.WaitingFor != "" || env.Sandbox.Stats().SMSSent != 1 {
		t.Errorf("at 09:00: %s waiting_for=%q, %d SMS; want code_sent, nothing awaited, 1 SMS", m.State, m.WaitingFor, env.Sandbox.Stats().SMSSent)
	}
}
