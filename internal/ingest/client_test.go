package ingest_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"

	"github.com/hibiken/asynq"

	"github.com/rdonboard/rdonboard/internal/ingest"
	"github.com/rdonboard/rdonboard/internal/redistest"
	"github.com/rdonboard/rdonboard/tasks"
)

func TestMain(m *testing.M) { redistest.Main(m) }

// TestNewClientGivesEachEnqueueItsOwnAnswer enqueues from many goroutines at
// once through the shared-pipeline client: every new task is enqueued once,
// every repeated task ID is told it conflicts, and a lost script cache is
// survived.
func TestNewClientGivesEachEnqueueItsOwnAnswer(t *testing.T) {
	t.Parallel()
	rdb := redistest.DB(t)
	client := ingest.NewClient(rdb)
	const n = 300
	enqueue := func(i int) error {
		task, err := tasks.NewSendCode(strconv.Itoa(1_000_000+i), tasks.Step{Generation: 1})
		if err != nil {
			return err
		}
		_, err = client.EnqueueContext(context.Background(), task)
		return err
	}
	errs := make([]error, 2*n)
	var wg sync.WaitGroup
	for i := range 2 * n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = enqueue(i % n) // each task ID twice
		}()
	}
	wg.Wait()
	var ok, conflicts int
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, asynq.ErrTaskIDConflict):
			conflicts++
		default:
			t.Errorf("enqueue: %v", err)
		}
	}
	if ok != n || conflicts != n {
		t.Errorf("%d enqueued and %d conflicts, want %d of each", ok, conflicts, n)
	}

	if err := rdb.ScriptFlush(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	if err := enqueue(n); err != nil {
		t.Errorf("enqueue after SCRIPT FLUSH: %v", err)
	}
	info, err := asynq.NewInspectorFromRedisClient(rdb).GetQueueInfo(tasks.QueueSend)
	if err != nil {
		t.Fatal(err)
	}
	if info.Pending != n+1 {
		t.Errorf("%d tasks pending, want %d", info.Pending, n+1)
	}
}
