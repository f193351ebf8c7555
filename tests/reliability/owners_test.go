package reliability

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/rdonboard/rdonboard/internal/sandbox"
)

// owners stand in for the people holding the phones: they read each SMS
// the sandbox sent (GET /sandbox/sms) and hand its code in through a
// worker's POST /v1/codes, trying again while the intake cannot take it
// (no answer, 503) as a person would.
type owners struct {
	t      testing.TB
	cloud  *sandboxProc
	stop   chan struct{}
	done   chan struct{}
	mu     sync.Mutex
	target string
	// handed lists the codes handed in; statuses counts the final answers.
	handed   []sandbox.SMS
	statuses map[int]int
	retried  map[int]int
}

// startOwners starts answering every SMS through w.
func (r *rig) startOwners(w *workerProc) *owners {
	o := &owners{t: r.t, cloud: r.cloud, stop: make(chan struct{}), done: make(chan struct{}),
		target: w.URL, statuses: map[int]int{}, retried: map[int]int{}}
	go o.run()
	r.t.Cleanup(o.Stop)
	return o
}

// Stop stops answering and waits.
func (o *owners) Stop() {
	select {
	case <-o.stop:
	default:
		close(o.stop)
	}
	<-o.done
}

// Retarget hands the next codes in through w.
func (o *owners) Retarget(w *workerProc) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.target = w.URL
}

// Handed returns the SMS whose code was handed in.
func (o *owners) Handed() []sandbox.SMS {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]sandbox.SMS(nil), o.handed...)
}

// Statuses returns the final answers to the codes handed in, by status,
// and the answers that made the owners try again.
func (o *owners) Statuses() (final, retried map[int]int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	final, retried = map[int]int{}, map[int]int{}
	for k, v := range o.statuses {
		final[k] = v
	}
	for k, v := range o.retried {
		retried[k] = v
	}
	return final, retried
}

func (o *owners) run() {
	defer close(o.done)
	seen := 0
	var queue []sandbox.SMS
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-o.stop:
			return
		case <-tick.C:
		}
		if all, ok := o.poll(); ok {
			queue = append(queue, all[seen:]...)
			seen = len(all)
		}
		queue = o.answer(queue)
	}
}

func (o *owners) poll() ([]sandbox.SMS, bool) {
	var all []sandbox.SMS
	resp, err := client.Get(o.cloud.URL + "/sandbox/sms")
	if err != nil {
		return nil, false
	}
	defer resp.Body.Close()
	return all, resp.StatusCode == http.StatusOK && decodeInto(resp, &all) == nil
}

// answer hands in each queued code once and returns those to try again.
func (o *owners) answer(queue []sandbox.SMS) []sandbox.SMS {
	var again []sandbox.SMS
	for _, sms := range queue {
		o.mu.Lock()
		target := o.target
		o.mu.Unlock()
		status, _ := postJSON(o.t, target+"/v1/codes", token, map[string]string{"account_id": sms.AccountID, "code": sms.Code})
		o.mu.Lock()
		if status == 0 || status >= 500 {
			o.retried[status]++
			again = append(again, sms)
		} else {
			o.statuses[status]++
			o.handed = append(o.handed, sms)
		}
		o.mu.Unlock()
	}
	return again
}
