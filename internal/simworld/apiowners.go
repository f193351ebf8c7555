package simworld

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"sync"
	"time"

	"github.com/rdonboard/rdonboard/internal/ctxwait"
	"github.com/rdonboard/rdonboard/internal/sandbox"
)

// SMSSource reads the SMS the sandbox sent after the first from, oldest
// first.
type SMSSource func(ctx context.Context, from int) ([]sandbox.SMS, error)

// InProcess reads the SMS of a sandbox running in this process.
func InProcess(sb *sandbox.Server) SMSSource {
	return func(_ context.Context, from int) ([]sandbox.SMS, error) { return sb.SMSFrom(from), nil }
}

// OverHTTP reads the SMS of a sandbox at cloudURL (GET /sandbox/sms).
func OverHTTP(client *http.Client, cloudURL string) SMSSource {
	return func(ctx context.Context, from int) ([]sandbox.SMS, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, cloudURL+"/sandbox/sms", nil)
		if err != nil {
			return nil, err
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		var all []sandbox.SMS
		if err := json.NewDecoder(resp.Body).Decode(&all); err != nil {
			return nil, err
		}
		return all[min(from, len(all)):], nil
	}
}

// Answer is what a phone's owner does with one SMS: hand in Code after
// Delay, or nothing when Skip is set.
type Answer struct {
	Code  string
	Delay time.Duration
	Skip  bool
}

// Policy decides how the owner of a phone answers an SMS; n counts the SMS
// that phone received before this one.
type Policy func(sms sandbox.SMS, n int) Answer

// Correct hands in the right code at once.
func Correct(sms sandbox.SMS, _ int) Answer { return Answer{Code: sms.Code} }

// APIOwnersParams configure APIOwners.
type APIOwnersParams struct {
	// Source is where the owners read their SMS.
	Source SMSSource
	// Target is the base URL of the worker whose POST /v1/codes they use;
	// Token its bearer token.
	Target, Token string
	// ByPhone: the owners know only their phone and its SMS, and hand
	// codes in by phone, never naming an account.
	ByPhone bool
	// Policy answers each SMS; default Correct.
	Policy Policy
	// RetryUnavailable: an answer the intake could not take (no answer, a
	// 5xx) is tried again, as a person would, instead of counted.
	RetryUnavailable bool
	// Poll is how often the owners look for new SMS and try again; default
	// 5ms.
	Poll time.Duration
	// Client makes the requests; default one keeping enough connections
	// for many owners answering at once.
	Client *http.Client
}

// APIOwners simulate the people holding the phones through the HTTP API:
// they watch the SMS the sandbox sends and hand each code in on a worker's
// POST /v1/codes, by account or by phone.
type APIOwners struct {
	p      APIOwnersParams
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	target   string
	statuses map[int]int
	retried  map[int]int
	handed   []sandbox.SMS
}

// StartAPIOwners starts the owners; Stop ends them.
func StartAPIOwners(ctx context.Context, p APIOwnersParams) *APIOwners {
	if p.Policy == nil {
		p.Policy = Correct
	}
	if p.Poll <= 0 {
		p.Poll = 5 * time.Millisecond
	}
	if p.Client == nil {
		p.Client = &http.Client{Timeout: 30 * time.Second,
			Transport: &http.Transport{MaxIdleConnsPerHost: 64, MaxIdleConns: 64}}
	}
	ctx, cancel := context.WithCancel(ctx)
	o := &APIOwners{p: p, cancel: cancel, target: p.Target, statuses: map[int]int{}, retried: map[int]int{}}
	o.wg.Add(1)
	go o.watch(ctx)
	return o
}

// Stop ends the owners and waits for the answers in flight.
func (o *APIOwners) Stop() {
	o.cancel()
	o.wg.Wait()
}

// Retarget hands the next codes in through the worker at target.
func (o *APIOwners) Retarget(target string) {
	o.mu.Lock()
	o.target = target
	o.mu.Unlock()
}

// Statuses returns the final answers to the codes handed in, by HTTP
// status, and the answers that made the owners try again.
func (o *APIOwners) Statuses() (final, retried map[int]int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return maps.Clone(o.statuses), maps.Clone(o.retried)
}

// Handed returns the SMS whose code was handed in (and taken, or refused
// for good).
func (o *APIOwners) Handed() []sandbox.SMS {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]sandbox.SMS(nil), o.handed...)
}

func (o *APIOwners) watch(ctx context.Context) {
	defer o.wg.Done()
	seen, perPhone := 0, map[string]int{}
	for ctxwait.Sleep(ctx, o.p.Poll) {
		fresh, err := o.p.Source(ctx, seen)
		if err != nil {
			continue
		}
		for _, sms := range fresh {
			a := o.p.Policy(sms, perPhone[sms.Phone])
			perPhone[sms.Phone]++
			if !a.Skip {
				o.wg.Add(1)
				go o.answer(ctx, sms, a)
			}
		}
		seen += len(fresh)
	}
}

// answer hands one code in after its delay, trying again while the intake
// cannot take it when RetryUnavailable is set.
func (o *APIOwners) answer(ctx context.Context, sms sandbox.SMS, a Answer) {
	defer o.wg.Done()
	if !ctxwait.Sleep(ctx, a.Delay) {
		return
	}
	body := map[string]string{"account_id": sms.AccountID, "code": a.Code}
	if o.p.ByPhone {
		body = map[string]string{"phone": sms.Phone, "code": a.Code}
	}
	for {
		status := o.post(ctx, body)
		if ctx.Err() != nil {
			return
		}
		o.mu.Lock()
		if o.p.RetryUnavailable && (status == 0 || status >= 500) {
			o.retried[status]++
			o.mu.Unlock()
			if !ctxwait.Sleep(ctx, o.p.Poll) {
				return
			}
			continue
		}
		o.statuses[status]++
		o.handed = append(o.handed, sms)
		o.mu.Unlock()
		return
	}
}

// post sends body to the target's code intake and returns the status (0
// when no answer came).
func (o *APIOwners) post(ctx context.Context, body map[string]string) int {
	o.mu.Lock()
	target := o.target
	o.mu.Unlock()
	b, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target+"/v1/codes", bytes.NewReader(b))
	if err != nil {
		return 0
	}
	req.Header.Set("Authorization", "Bearer "+o.p.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := o.p.Client.Do(req)
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}
