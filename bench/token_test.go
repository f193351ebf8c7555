package bench

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/rdonboard/rdonboard/internal/httpapi"
	"github.com/rdonboard/rdonboard/internal/redistest"
	"github.com/rdonboard/rdonboard/internal/web"
)

// BenchmarkRightTokensFromOneAddress sends 20,000 requests with the right
// bearer token, 64 at a time, all from one client address (a busy
// integration posting codes), through the worker's guard, which holds a
// place in the address's count of tries around each comparison, and through
// a guard that counts nothing, in the same run. It reports each one's
// requests per second and the share of requests refused (target: none).
func BenchmarkRightTokensFromOneAddress(b *testing.B) {
	const token, total, inFlight = "bench-token-0123456789abcdef", 20000, 64
	site := web.New(web.Params{Token: token, Redis: redistest.DB(b), Prefix: "onboard:"})
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	guards := []struct {
		name string
		h    http.Handler
	}{{"counted", site.RequireToken(ok)}, {"uncounted", httpapi.RequireToken(token, ok)}}
	for range b.N {
		for _, g := range guards {
			start := time.Now()
			refused := hammer(g.h, token, total, inFlight)
			b.ReportMetric(float64(total)/time.Since(start).Seconds(), g.name+"_req/s")
			b.ReportMetric(float64(refused)/total, g.name+"_refused")
		}
	}
}

// hammer sends total requests to h, inFlight at a time, and returns how
// many were not let through.
func hammer(h http.Handler, token string, total, inFlight int) int {
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		refused int
		next    = make(chan struct{}, total)
	)
	for range total {
		next <- struct{}{}
	}
	close(next)
	for range inFlight {
		wg.Go(func() {
			for range next {
				r := httptest.NewRequest(http.MethodGet, "/v1/members", nil)
				r.RemoteAddr = "192.0.2.9:40000"
				r.Header.Set("Authorization", "Bearer "+token)
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				if w.Code != http.StatusNoContent {
					mu.Lock()
					refused++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	return refused
}
