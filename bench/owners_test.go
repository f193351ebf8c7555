package bench

import (
	"bytes"
	"encoding/json"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/rdonboard/rdonboard/internal/harness"
	"github.com/rdonboard/rdonboard/internal/sandbox"
)

// answerers is how many codes are handed in at once.
const answerers = 8

// owners hand in the code of every SMS the sandbox sends, at once, through
// a worker's HTTP intake. The sandbox tells them of each SMS (its OnCall
// hook), so their cost does not grow with the SMS sent so far, and they
// keep their connections open; the benchmarks measure the worker, not the
// people.
type owners struct {
	sent chan string // account IDs whose code was sent
	wg   sync.WaitGroup
	http *http.Client
}

// newOwners returns owners with room for n codes sent before they start.
func newOwners(n int) *owners {
	return &owners{
		sent: make(chan string, n),
		http: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: answerers}},
	}
}

// onCall is the sandbox hook that tells the owners of a code sent.
func (o *owners) onCall(c sandbox.Call) {
	if c.Action == sandbox.ActionSendCode && c.Outcome == "ok" {
		o.sent <- c.AccountID
	}
}

// start starts answering through proc; answering stops when the benchmark
// ends.
func (o *owners) start(b *testing.B, sb *sandbox.Server, proc *harness.Proc) {
	stop := make(chan struct{})
	for range answerers {
		o.wg.Add(1)
		go func() {
			defer o.wg.Done()
			for {
				select {
				case id := <-o.sent:
					code, _ := sb.LatestCode(id)
					if status := o.post(proc.URL, id, code); status != http.StatusAccepted {
						b.Errorf("POST /v1/codes for %s: status %d", id, status)
					}
				case <-stop:
					return
				}
			}
		}()
	}
	b.Cleanup(func() {
		close(stop)
		o.wg.Wait()
	})
}

// post hands in one code and returns the HTTP status.
func (o *owners) post(base, accountID, code string) int {
	body, _ := json.Marshal(map[string]string{"account_id": accountID, "code": code})
	req, _ := http.NewRequest(http.MethodPost, base+"/v1/codes", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+harness.Token)
	resp, err := o.http.Do(req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// both calls each hook in turn.
func both(hooks ...func(sandbox.Call)) func(sandbox.Call) {
	return func(c sandbox.Call) {
		for _, h := range hooks {
			h(c)
		}
	}
}
