package redisconn_test

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rdonboard/rdonboard/internal/redisconn"
	"github.com/rdonboard/rdonboard/internal/redistest"
	"github.com/rdonboard/rdonboard/internal/testwait"
)

// TestReplicasWaitForTheReplica runs a real primary and replica: a write
// acknowledged by Wait is on the replica; a frozen replica makes Wait
// fail; with the replica gone there is nothing to wait for.
func TestReplicasWaitForTheReplica(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	primary := redistest.Start(t, redistest.Options{})
	host, port, _ := net.SplitHostPort(primary.Addr)
	replica := redistest.Start(t, redistest.Options{Args: []string{"--replicaof", host, port}})
	p := redis.NewClient(&redis.Options{Addr: primary.Addr})
	r := redis.NewClient(&redis.Options{Addr: replica.Addr})
	t.Cleanup(func() { _ = p.Close(); _ = r.Close() })
	testwait.Until(t, 20*time.Second, "replica in sync", func() bool {
		info, err := r.Info(ctx, "replication").Result()
		return err == nil && strings.Contains(info, "master_link_status:up")
	})

	// A write made on another connection of the pool before the call.
	if err := p.Set(ctx, "code-task", "kept", 0).Err(); err != nil {
		t.Fatal(err)
	}
	w := redisconn.NewReplicas(p, "replicated", 200*time.Millisecond, nil)
	if err := w.Wait(ctx); err != nil {
		t.Fatalf("Wait with the replica in sync: %v", err)
	}
	if got, err := r.Get(ctx, "code-task").Result(); err != nil || got != "kept" {
		t.Fatalf("on the replica after Wait: %q, %v; want the primary's write", got, err)
	}

	// Frozen, the replica stays connected but acknowledges nothing.
	pid := processID(t, r)
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	err := w.Wait(ctx)
	if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(err, redisconn.ErrNotReplicated) {
		t.Fatalf("Wait with the replica frozen: %v, want ErrNotReplicated", err)
	}

	replica.Stop(t)
	testwait.Until(t, 20*time.Second, "primary sees its replica gone", func() bool {
		info, err := p.Info(ctx, "replication").Result()
		return err == nil && strings.Contains(info, "connected_slaves:0")
	})
	for i := range 2 {
		if err := w.Wait(ctx); err != nil {
			t.Fatalf("Wait %d with no replica: %v, want nil (nothing a failover could promote)", i, err)
		}
	}
}

// processID is the pid of the server c talks to.
func processID(t *testing.T, c *redis.Client) int {
	t.Helper()
	info, err := c.Info(context.Background(), "server").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, "process_id:"); ok {
			pid, err := strconv.Atoi(v)
			if err != nil {
				t.Fatal(err)
			}
			return pid
		}
	}
	t.Fatal("INFO server names no process_id")
	return 0
}
