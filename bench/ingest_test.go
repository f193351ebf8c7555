package bench

import (
	"bytes"
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"

	"github.com/rdonboard/rdonboard/internal/ingest"
	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/internal/redistest"
	"github.com/rdonboard/rdonboard/internal/roster"
	"github.com/rdonboard/rdonboard/tasks"
)

// ingestRows is the size of the generated roster.
const ingestRows = 100_000

// ingestPairs is how many times one run measures the ceiling and ingest,
// in turn; it reports the medians, so a burst of load from elsewhere on the
// machine skews one pair, not the figures.
const ingestPairs = 3

// BenchmarkIngest ingests a generated 100k-row roster into Redis the way
// `enqueue members` does (roster reader, member store admit, send tasks
// through ingest.NewClient), and measures in the same run, on the same
// server, the ceiling: plain concurrent asynq enqueues of as many send
// tasks by as many goroutines as ingest's enqueuers, with no CSV and no
// store. Target: ingest ≥ 60% of the ceiling.
func BenchmarkIngest(b *testing.B) {
	var csv bytes.Buffer
	if err := roster.Generate(&csv, ingestRows, 0); err != nil {
		b.Fatal(err)
	}
	rdb := newClient(b, redistest.URL(b), clientPool)
	load := startLoad(b, rdb)
	var runs ingestRuns
	for range b.N {
		for range ingestPairs {
			runs.measure(b, rdb, csv.Bytes())
		}
	}
	runs.report(b)
	b.ReportMetric(load.others(b), "others-cores")
}

// ingestRuns are the figures of the ceiling/ingest pairs of a benchmark,
// with the CPU time the server and this process spent on each side: it
// tells whether a run was bound by CPU or by round trips.
type ingestRuns struct {
	ingested, ceiling, ratios []float64
	ingestCPU, ceilingCPU     cpuCost
}

// cpuCost is CPU time spent by the Redis server and by this process.
type cpuCost struct{ redis, client time.Duration }

func (c cpuCost) plus(d cpuCost) cpuCost {
	return cpuCost{redis: c.redis + d.redis, client: c.client + d.client}
}

// measure runs the ceiling, then ingest, flushing the database after each.
func (r *ingestRuns) measure(b *testing.B, rdb *redis.Client, csv []byte) {
	b.Helper()
	var ceiling, ingested float64
	c := measureCost(b, rdb, func() { ceiling = enqueueCeiling(b, rdb, ingestRows, ingest.DefaultEnqueuers) })
	flush(b, rdb)
	i := measureCost(b, rdb, func() { ingested = ingestOnce(b, rdb, csv, ingest.Options{}) })
	flush(b, rdb)
	r.ceiling, r.ingested = append(r.ceiling, ceiling), append(r.ingested, ingested)
	r.ratios = append(r.ratios, ingested/ceiling)
	r.ceilingCPU, r.ingestCPU = r.ceilingCPU.plus(c), r.ingestCPU.plus(i)
}

// report reports the medians, and the mean CPU time per row.
func (r *ingestRuns) report(b *testing.B) {
	b.ReportMetric(median(r.ingested), "rows/s")
	b.ReportMetric(median(r.ceiling), "ceiling-tasks/s")
	b.ReportMetric(median(r.ratios), "ingest/ceiling")
	per := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(len(r.ratios)*ingestRows) }
	b.ReportMetric(per(r.ingestCPU.redis), "redis-µs/row")
	b.ReportMetric(per(r.ingestCPU.client), "client-µs/row")
	b.ReportMetric(per(r.ceilingCPU.redis), "ceiling-redis-µs/task")
	b.ReportMetric(per(r.ceilingCPU.client), "ceiling-client-µs/task")
}

// measureCost runs fn and returns the CPU time the server and this process
// spent meanwhile.
func measureCost(b *testing.B, rdb *redis.Client, fn func()) cpuCost {
	b.Helper()
	r, s := redisCPU(b, rdb), selfCPU(b)
	fn()
	return cpuCost{redis: redisCPU(b, rdb) - r, client: selfCPU(b) - s}
}

// ingestOnce runs ingest over csv and returns its rows per second.
func ingestOnce(b *testing.B, rdb *redis.Client, csv []byte, opts ingest.Options) float64 {
	b.Helper()
	rd, err := roster.NewReader(bytes.NewReader(csv))
	if err != nil {
		b.Fatal(err)
	}
	in := ingest.New(member.New(rdb, member.Options{}), ingest.NewClient(rdb))
	start := time.Now()
	opts.Batch = "bench"
	sum, err := in.Run(context.Background(), rd, opts, ingest.Hooks{})
	elapsed := time.Since(start)
	if err != nil {
		b.Fatalf("ingest: %v", err)
	}
	if sum.Accepted != ingestRows {
		b.Fatalf("ingest accepted %d rows, want %d (%+v)", sum.Accepted, ingestRows, sum)
	}
	return float64(sum.Rows) / elapsed.Seconds()
}

// enqueueCeiling enqueues n send tasks from workers goroutines and returns
// the tasks per second.
func enqueueCeiling(b *testing.B, rdb *redis.Client, n, workers int) float64 {
	b.Helper()
	client := asynq.NewClientFromRedisClient(rdb)
	ids := make(chan int, workers)
	var g errgroup.Group
	start := time.Now()
	for range workers {
		g.Go(func() error {
			for i := range ids {
				if err := enqueueSend(client, i); err != nil {
					return err
				}
			}
			return nil
		})
	}
	for i := range n {
		ids <- i
	}
	close(ids)
	if err := g.Wait(); err != nil {
		b.Fatalf("enqueue: %v", err)
	}
	return float64(n) / time.Since(start).Seconds()
}

// enqueueSend enqueues the send task of the i-th generated member.
func enqueueSend(client *asynq.Client, i int) error {
	t, err := tasks.NewSendCode(strconv.Itoa(1_000_000_000_000_000+i), tasks.Step{Generation: 1})
	if err == nil {
		_, err = client.Enqueue(t)
	}
	return err
}

// flush empties the database of rdb.
func flush(b *testing.B, rdb *redis.Client) {
	b.Helper()
	if err := rdb.FlushDB(context.Background()).Err(); err != nil {
		b.Fatalf("flush: %v", err)
	}
}
