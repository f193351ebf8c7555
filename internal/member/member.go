// Package member owns the member store: the record of every member's state,
// kept in Redis because asynq forgets finished tasks. One hash per member,
// one sorted-set index per batch and state (so status and reconciliation
// never scan the keyspace), guarded atomic transitions that name the states
// they expect (so duplicate deliveries and racing workers cannot advance a
// member twice), and an append-only history per member as the audit trail.
package member

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/rdonboard/rdonboard/internal/phone"
	"github.com/rdonboard/rdonboard/tasks"
)

// State is where a member is in the onboarding flow (README, "Reading the
// results").
type State string

// The states of a member.
const (
	Pending       State = "pending"
	CodeSent      State = "code_sent"
	CodeSubmitted State = "code_submitted"
	Bound         State = "bound"
	AlreadyBound  State = "already_bound"
	Failed        State = "failed"
	Expired       State = "expired"
	// Cancelled: stopped by an operator (enqueue cancel); a later admission
	// of the same row restarts it.
	Cancelled State = "cancelled"
)

// States lists every state in the order of the flow.
var States = []State{Pending, CodeSent, CodeSubmitted, Bound, AlreadyBound, Failed, Expired, Cancelled}

// Terminal reports whether no further work happens for a member in s
// without an operator restarting it.
func (s State) Terminal() bool {
	switch s {
	case Bound, AlreadyBound, Failed, Expired, Cancelled:
		return true
	}
	return false
}

// ParseState returns the State named s, or an error listing the valid ones.
func ParseState(s string) (State, error) {
	for _, st := range States {
		if string(st) == s {
			return st, nil
		}
	}
	names := make([]string, len(States))
	for i, st := range States {
		names[i] = string(st)
	}
	return "", fmt.Errorf("unknown state %q (want one of %s)", s, strings.Join(names, ", "))
}

// What a pending member waits for (Member.WaitingFor, JSON waiting_for).
const (
	// WaitingPhone: another member of its phone has a live code.
	WaitingPhone = "phone"
	// WaitingSendWindow: the send window is closed.
	WaitingSendWindow = "send_window"
	// WaitingRateLimit: the shared send rate holds it back.
	WaitingRateLimit = "rate_limit"
	// WaitingPause: the queues are paused.
	WaitingPause = "pause"
)

// Live reports whether a member in s holds its phone's live code.
func (s State) Live() bool { return s == CodeSent || s == CodeSubmitted }

// Member is one member's record. Phone is the full normalized number and
// Code the code handed in and not yet used: neither ever leaves the process
// through JSON (see View).
type Member struct {
	AccountID string
	Phone     string
	Batch     string
	// DisplayName and Email come from the roster: the account's name as the
	// owner knows it and the owner's address.
	DisplayName string
	Email       string
	State       State
	// WaitingFor says what a pending member waits for (a Waiting* value).
	WaitingFor string
	// Generation counts the starts of this member's flow (a retry or a
	// changed phone starts a new one); Sends counts the codes sent in it.
	Generation int
	Sends      int
	// CodeAttempts counts the codes handed in for the current send.
	CodeAttempts     int
	CodeExpiresAt    time.Time
	LastErrorCode    string
	LastErrorMessage string
	RequestID        string
	UpdatedAt        time.Time
	CreatedAt        time.Time
	// Code is the code handed in, kept until the bind of it ends.
	Code string
	// BindInDoubt is set when a bind's outcome was unknown (the request left,
	// no answer came): a later AccountSecureMobileAlreadyExists then means the
	// member's own bind succeeded.
	BindInDoubt bool
	// Sending names the step whose send request may have left without an
	// answer (a crash or a timeout): a redelivered send then treats the code
	// as sent instead of sending a second SMS.
	Sending string
	// HandOn is set on the member Transition returns when the move ended
	// the flow of its phone's turn holder: the caller enqueues the send of
	// the member named. It is not stored.
	HandOn *HandOn
}

// Step returns the flow step the member is at: the one its current tasks
// must carry.
func (m Member) Step() tasks.Step {
	return tasks.Step{Generation: m.Generation, Send: m.Sends}
}

// View is a member as it is shown outside the process (HTTP API, status,
// reports): the member object of the README, with the phone masked.
type View struct {
	AccountID        string `json:"account_id"`
	MobilePhone      string `json:"mobile_phone"`
	Batch            string `json:"batch"`
	DisplayName      string `json:"display_name"`
	State            State  `json:"state"`
	WaitingFor       string `json:"waiting_for"`
	Sends            int    `json:"sends"`
	CodeAttempts     int    `json:"code_attempts"`
	CodeExpiresAt    string `json:"code_expires_at"`
	LastErrorCode    string `json:"last_error_code"`
	LastErrorMessage string `json:"last_error_message"`
	RequestID        string `json:"request_id"`
	UpdatedAt        string `json:"updated_at"`
}

// View returns the member as shown outside the process. The phone is masked
// unless reveal is set (an operator asked for it explicitly).
func (m Member) View(reveal bool) View {
	p := phone.Mask(m.Phone)
	if reveal {
		p = m.Phone
	}
	return View{
		AccountID:        m.AccountID,
		MobilePhone:      p,
		Batch:            m.Batch,
		DisplayName:      m.DisplayName,
		State:            m.State,
		WaitingFor:       m.WaitingFor,
		Sends:            m.Sends,
		CodeAttempts:     m.CodeAttempts,
		CodeExpiresAt:    formatTime(m.CodeExpiresAt),
		LastErrorCode:    m.LastErrorCode,
		LastErrorMessage: m.LastErrorMessage,
		RequestID:        m.RequestID,
		UpdatedAt:        formatTime(m.UpdatedAt),
	}
}

// MarshalJSON renders the masked View, so a Member can never be encoded
// with its full phone or code by accident.
func (m Member) MarshalJSON() ([]byte, error) {
	return json.Marshal(m.View(false))
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// Event is one entry of a member's history.
type Event struct {
	At        time.Time `json:"at"`
	From      State     `json:"from"`
	To        State     `json:"to"`
	Reason    string    `json:"reason"`
	RequestID string    `json:"request_id,omitempty"`
}
