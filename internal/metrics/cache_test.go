package metrics_test

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/rdonboard/rdonboard/internal/harness"
	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/internal/metrics"
	"github.com/rdonboard/rdonboard/internal/redistest"
)

// commandCount counts the Redis commands a client sends.
type commandCount struct{ n atomic.Int64 }

func (c *commandCount) DialHook(next redis.DialHook) redis.DialHook { return next }

func (c *commandCount) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { c.n.Add(1); return next(ctx, cmd) }
}

func (c *commandCount) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { c.n.Add(int64(len(cmds))); return next(ctx, cmds) }
}

// TestScrapesWithinTheCacheWindowReadNoRedis gathers the queue and state
// collectors twice at one moment: the second gather sends no Redis
// command; once metrics.CacheFor has passed, Redis is read again.
func TestScrapesWithinTheCacheWindowReadNoRedis(t *testing.T) {
	t.Parallel()
	opt, _ := redis.ParseURL(redistest.URL(t))
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { rdb.Close() })
	var count commandCount
	rdb.AddHook(&count)
	store := member.New(rdb, member.Options{})
	if _, err := store.Admit(context.Background(), []member.Candidate{{AccountID: "1000000000000001", Phone: "86-13900000001", Batch: "b"}}, member.AdmitOptions{}); err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { return now }
	reg := prometheus.NewRegistry()
	insp := asynq.NewInspectorFromRedisClient(rdb)
	state := metrics.NewStateCollector(metrics.StateSource{
		Counts: func(ctx context.Context) ([]member.BatchCounts, error) { return store.Counts(ctx, "") }})
	reg.MustRegister(metrics.Cached(metrics.NewQueueCollector(insp), clock), metrics.Cached(state, clock))

	gather := func() (int64, int) {
		t.Helper()
		before := count.n.Load()
		fams, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		return count.n.Load() - before, len(fams)
	}
	first, families := gather()
	if first == 0 || families == 0 {
		t.Fatalf("first scrape: %d Redis commands, %d families; want both above 0", first, families)
	}
	if again, fams := gather(); again != 0 || fams != families {
		t.Errorf("second scrape within the window: %d Redis commands, %d families; want 0 and %d", again, fams, families)
	}
	now = now.Add(metrics.CacheFor)
	if later, _ := gather(); later == 0 {
		t.Errorf("scrape after %v: no Redis command; want the figures read again", metrics.CacheFor)
	}
}

// TestMetricsNeedTheToken: /metrics answers 401 without the bearer token
// (and with a wrong one), the figures with it.
func TestMetricsNeedTheToken(t *testing.T) {
	t.Parallel()
	env := harness.Start(t, harness.Options{})
	url := env.Worker(0).URL + "/metrics"
	for name, auth := range map[string]string{"no token": "", "wrong token": "Bearer not-the-token-at-all"} {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: status %d, want 401", name, resp.StatusCode)
		}
	}
	if fams := scrape(t, env.Worker(0)); fams["rdonboard_state_up"] == nil {
		t.Error("with the token: no rdonboard_state_up in /metrics")
	}
}
