package bench

import (
	"context"
	"net/http/httptest"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/rdonboard/rdonboard/internal/cloud"
	"github.com/rdonboard/rdonboard/internal/cloudcall"
	"github.com/rdonboard/rdonboard/internal/discover"
	"github.com/rdonboard/rdonboard/internal/ratelimit"
	"github.com/rdonboard/rdonboard/internal/redistest"
	"github.com/rdonboard/rdonboard/internal/sandbox"
)

// BenchmarkDiscover audits a directory of 10,000 members (nested folders,
// every tenth a CloudAccount, every fourth with a phone) the way `enqueue
// discover` does, and reports its time over the least the shared rates
// allow: pages ÷ list rate + resource accounts ÷ GET rate. The sandbox's
// quotas equal the rates, so a call over them would show as a rejection.
// At the default GET rate the run takes minutes; DISCOVER_GET_QPS and
// DISCOVER_LIST_QPS (default 2000 and 100) scale it down.
func BenchmarkDiscover(b *testing.B) {
	getQPS, listQPS := envRate("DISCOVER_GET_QPS", 2000), envRate("DISCOVER_LIST_QPS", 100)
	dir := sandbox.GenerateDirectory(sandbox.DirectorySpec{Accounts: 10_000, Width: 4, Depth: 3, CloudEvery: 10, BoundEvery: 4})
	resources := 0
	for _, m := range dir.Members() {
		if m.Type == sandbox.TypeResourceAccount {
			resources++
		}
	}
	pages := (10_000 + cloud.MaxPageSize - 1) / cloud.MaxPageSize
	floor := float64(pages)/listQPS + float64(resources)/getQPS
	for b.Loop() {
		b.StopTimer()
		sb, err := sandbox.New(sandbox.Options{Directory: dir, GetQPS: getQPS, ListQPS: listQPS})
		if err != nil {
			b.Fatal(err)
		}
		srv := httptest.NewServer(sb)
		sdk, err := cloud.New(cloud.Config{Endpoint: srv.URL, AccessKeyID: sandbox.DefaultAccessKeyID,
			AccessKeySecret: sandbox.DefaultAccessKeySecret})
		if err != nil {
			b.Fatal(err)
		}
		rdb := redistest.DB(b)
		limiter := ratelimit.New(rdb, ratelimit.Options{Rates: map[string]float64{
			cloud.ActionGetAccount: getQPS, cloud.ActionListAccounts: listQPS}})
		caller := cloudcall.New(cloudcall.Params{Client: sdk, Limiter: limiter, Mode: cloudcall.Wait})
		b.StartTimer()
		start := time.Now()
		res, err := discover.Run(context.Background(), discover.Params{Caller: caller, Redis: rdb}, discover.Options{})
		took := time.Since(start)
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		if res.Summary.TotalCalls() != pages+resources {
			b.Fatalf("%d calls, want %d", res.Summary.TotalCalls(), pages+resources)
		}
		st := sb.Stats()
		b.ReportMetric(took.Seconds()/floor, "time/floor")
		b.ReportMetric(float64(st.QuotaRejections[sandbox.ActionGetAccount]+st.QuotaRejections[sandbox.ActionListAccounts]), "rejections")
		b.ReportMetric(float64(resources)/took.Seconds(), "GetAccount/s")
		sdk.Close()
		srv.Close()
		b.StartTimer()
	}
}

// envRate reads a rate from the environment, or def.
func envRate(name string, def float64) float64 {
	if v, err := strconv.ParseFloat(os.Getenv(name), 64); err == nil && v > 0 {
		return v
	}
	return def
}
