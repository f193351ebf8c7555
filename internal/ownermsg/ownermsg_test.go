package ownermsg_test

import (
	"context"
	"testing"
	"time"

	"github.com/rdonboard/rdonboard/internal/ownermsg"
	"github.com/rdonboard/rdonboard/internal/redistest"
	"github.com/rdonboard/rdonboard/tasks"
)

func TestMain(m *testing.M) { redistest.Main(m) }

// TestRecentPhonesAndFailures: phones come latest first with a record per
// channel; a failure counts until the channel's next message to that phone
// gets through, and phones and failures older than the retention are
// forgotten.
func TestRecentPhonesAndFailures(t *testing.T) {
	ctx := context.Background()
	book := ownermsg.New(redistest.DB(t), "t:")
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	keep := func(hash, phone, channel, outcome string, at time.Time) {
		t.Helper()
		if err := book.Keep(ctx, hash, ownermsg.Last{Phone: phone, Channel: channel, Event: "owner_link", Outcome: outcome, At: at}); err != nil {
			t.Fatal(err)
		}
	}
	keep("a", "86-139****0001", "email", ownermsg.Delivered, t0)
	keep("a", "86-139****0001", "dingtalk", ownermsg.Failed, t0.Add(time.Second))
	keep("b", "86-139****0002", "webhook", ownermsg.Failed, t0.Add(2*time.Second))

	phones, failed, err := book.Recent(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(phones) != 2 || phones[0].Phone != "86-139****0002" || phones[1].Phone != "86-139****0001" {
		t.Fatalf("recent phones %+v, want 0002 then 0001", phones)
	}
	if m := phones[1].Messages; len(m) != 2 || m[0].Channel != "dingtalk" || m[1].Channel != "email" || !phones[1].Failed() {
		t.Errorf("phone 0001's messages %+v, want dingtalk (failed) and email", m)
	}
	if !phones[1].At.Equal(t0.Add(time.Second)) {
		t.Errorf("phone 0001 messaged at %s, want its latest message's time", phones[1].At)
	}
	if failed != 2 {
		t.Errorf("%d failed, want 2", failed)
	}

	keep("a", "86-139****0001", "dingtalk", ownermsg.Delivered, t0.Add(3*time.Second))
	if _, failed, _ = book.Recent(ctx, 10); failed != 1 {
		t.Errorf("after dingtalk got through: %d failed, want 1", failed)
	}
	if phones, _, _ = book.Recent(ctx, 1); len(phones) != 1 || phones[0].Phone != "86-139****0001" {
		t.Errorf("the one phone messaged last: %+v, want 0001", phones)
	}

	// A message a retention later forgets the old failure of phone b.
	keep("c", "86-139****0003", "email", ownermsg.Delivered, t0.Add(tasks.NotifyRetention+time.Hour))
	phones, failed, err = book.Recent(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if failed != 0 || len(phones) != 1 || phones[0].Phone != "86-139****0003" {
		t.Errorf("after the retention: %d failed, phones %+v; want 0 and only 0003", failed, phones)
	}
}
