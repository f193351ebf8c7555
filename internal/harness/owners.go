package harness

import (
	"sync"
	"time"

	"github.com/rdonboard/rdonboard/internal/sandbox"
)

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

// Owners simulates the people holding the phones: it watches the SMS the
// sandbox sends and answers each through a worker's HTTP intake.
type Owners struct {
	env    *Env
	proc   *Proc
	policy Policy
	// byPhone owners know only their phone and its SMS: they hand codes
	// in by phone, never naming an account.
	byPhone bool
	stop    chan struct{}
	done    sync.WaitGroup

	mu       sync.Mutex
	statuses map[int]int
}

// StartOwners starts simulating owners answering through proc; they stop
// when the test ends or Stop is called.
func (e *Env) StartOwners(proc *Proc, policy Policy) *Owners {
	o := &Owners{env: e, proc: proc, policy: policy, stop: make(chan struct{}), statuses: map[int]int{}}
	o.done.Add(1)
	go o.watch()
	e.t.Cleanup(o.Stop)
	return o
}

// StartPhoneOwners starts owners who read only their phone's SMS (code and
// time) and hand each code in by phone, as a person holding one phone for
// many accounts does.
func (e *Env) StartPhoneOwners(proc *Proc, policy Policy) *Owners {
	o := &Owners{env: e, proc: proc, policy: policy, byPhone: true, stop: make(chan struct{}), statuses: map[int]int{}}
	o.done.Add(1)
	go o.watch()
	e.t.Cleanup(o.Stop)
	return o
}

// Stop stops the owners and waits for answers in flight.
func (o *Owners) Stop() {
	select {
	case <-o.stop:
	default:
		close(o.stop)
	}
	o.done.Wait()
}

// Statuses returns how many answers got each HTTP status.
func (o *Owners) Statuses() map[int]int {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := map[int]int{}
	for k, v := range o.statuses {
		out[k] = v
	}
	return out
}

func (o *Owners) watch() {
	defer o.done.Done()
	seen := 0
	perPhone := map[string]int{}
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-o.stop:
			return
		case <-tick.C:
		}
		fresh := o.env.Sandbox.SMSFrom(seen)
		for _, sms := range fresh {
			a := o.policy(sms, perPhone[sms.Phone])
			perPhone[sms.Phone]++
			if !a.Skip {
				o.done.Add(1)
				go o.answer(sms, a)
			}
		}
		seen += len(fresh)
	}
}

func (o *Owners) answer(sms sandbox.SMS, a Answer) {
	defer o.done.Done()
	if a.Delay > 0 {
		select {
		case <-time.After(a.Delay):
		case <-o.stop:
			return
		}
	}
	body := map[string]string{"account_id": sms.AccountID, "code": a.Code}
	if o.byPhone {
		body = map[string]string{"phone": sms.Phone, "code": a.Code}
	}
	status := o.env.postCode(o.proc, body)
	o.mu.Lock()
	o.statuses[status]++
	o.mu.Unlock()
}

// PostPhoneCode posts a code naming the phone, not the account, to a
// worker's HTTP intake and returns the status.
func (e *Env) PostPhoneCode(p *Proc, phone, code string) int {
	e.t.Helper()
	return e.postCode(p, map[string]string{"phone": phone, "code": code})
}
