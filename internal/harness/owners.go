package harness

import (
	"context"

	"github.com/rdonboard/rdonboard/internal/simworld"
)

// Answer is what a phone's owner does with one SMS (simworld.Answer).
type Answer = simworld.Answer

// Policy decides how the owner of a phone answers an SMS
// (simworld.Policy).
type Policy = simworld.Policy

// Correct hands in the right code at once.
var Correct Policy = simworld.Correct

// Owners are the simulated people holding the phones (internal/simworld's
// API owners): they watch the SMS the sandbox sends and answer each
// through a worker's HTTP intake.
type Owners struct {
	*simworld.APIOwners
}

// StartOwners starts simulating owners answering through proc by account;
// they stop when the test ends or Stop is called.
func (e *Env) StartOwners(proc *Proc, policy Policy) *Owners {
	return e.startOwners(proc, policy, false)
}

// StartPhoneOwners starts owners who read only their phone's SMS (code and
// time) and hand each code in by phone, as a person holding one phone for
// many accounts does.
func (e *Env) StartPhoneOwners(proc *Proc, policy Policy) *Owners {
	return e.startOwners(proc, policy, true)
}

func (e *Env) startOwners(proc *Proc, policy Policy, byPhone bool) *Owners {
	o := simworld.StartAPIOwners(context.Background(), simworld.APIOwnersParams{Source: simworld.InProcess(e.Sandbox),
		Target: proc.URL, Token: Token, ByPhone: byPhone, Policy: policy, Client: httpClient})
	e.t.Cleanup(o.Stop)
	return &Owners{o}
}

// Statuses returns how many answers got each HTTP status.
func (o *Owners) Statuses() map[int]int {
	final, _ := o.APIOwners.Statuses()
	return final
}

// PostPhoneCode posts a code naming the phone, not the account, to a
// worker's HTTP intake and returns the status.
func (e *Env) PostPhoneCode(p *Proc, phone, code string) int {
	e.t.Helper()
	return e.postCode(p, map[string]string{"phone": phone, "code": code})
}
