// Package tasks is the vocabulary shared by the producer (cmd/enqueue, the
// HTTP intake) and the worker: queue names, task type names, payloads and
// their constructors. Anything that enqueues or handles a task goes through
// this package, so the two sides cannot drift apart.
//
// Payloads carry identifiers only, never a phone number: the member store is
// the record of a member; a task is a reminder to act on it. The one
// exception is the callback task, whose payload format is public (README,
// "Callback queue") and carries the code a person handed in.
package tasks

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/rdonboard/rdonboard/internal/phone"
	"regexp"
	"strconv"
	"time"

	"github.com/hibiken/asynq"
)

// Queue names. The worker serves them in strict priority in the order of
// Queues, so a backlog of sends never holds back a code a person handed in.
const (
	// QueueCallback receives codes handed in by people (public contract).
	QueueCallback = "callback"
	// QueueBind holds bind calls waiting for their turn.
	QueueBind = "bind"
	// QueueControl holds code expiries and reconciliation runs.
	QueueControl = "control"
	// QueueSendNext holds the sends that carry on work already under way:
	// the next member of a phone whose turn was handed on, and every new
	// code of a member (after an expiry or wrong codes). The send lane
	// serves it before QueueSend, so the members of a phone follow each
	// other at ONBOARD_PHONE_GAP however many first sends wait.
	QueueSendNext = "send_next"
	// QueueSend holds the bulk of the work: the first send of each member.
	QueueSend = "send"
	// QueueNotify holds the messages to phone owners, served by a lane of
	// its own so a channel that is down never holds back the flow.
	QueueNotify = "notify"
)

// Queues lists every queue of the flow, highest priority first.
var Queues = []string{QueueCallback, QueueBind, QueueControl, QueueSendNext, QueueSend}

// CloudQueues are the queues whose handlers call the cloud API; a
// caller-wide error pauses them until the operator resumes.
var CloudQueues = []string{QueueBind, QueueSendNext, QueueSend}

// SendQueues are the queues a send task may be on, the one served first
// first. A send is looked up, deleted or repaired on each of them.
var SendQueues = []string{QueueSendNext, QueueSend}

// Task type names.
const (
	// TypeSendCode asks the cloud to SMS a verification code to a member.
	TypeSendCode = "onboard:send_code"
	// TypeCodeSubmitted carries a code a person handed in (public contract).
	TypeCodeSubmitted = "onboard:code_submitted"
	// TypeBind binds the phone with the code handed in.
	TypeBind = "onboard:bind"
	// TypeCodeExpiry fires when a sent code expires.
	TypeCodeExpiry = "onboard:code_expiry"
	// TypeReconcile runs one reconciliation pass.
	TypeReconcile = "onboard:reconcile"
	// TypeNotify delivers one message to a phone's owner on one channel.
	TypeNotify = "onboard:notify"
)

// RetryBudget is the number of retries a task gets for transient failures
// (exponential backoff from about a second, capped at five minutes: about
// half an hour in all). Snoozes (rate limits, throttles, pauses) do not use
// it.
const RetryBudget = 10

// Time limits of one run of a handler, rate-limit waits included.
const (
	sendTimeout     = 3 * time.Minute
	bindTimeout     = 2 * time.Minute
	callbackTimeout = 30 * time.Second
	expiryTimeout   = time.Minute
)

// ErrBadPayload reports a payload that is not valid JSON or lacks a field.
var ErrBadPayload = errors.New("bad task payload")

var (
	accountIDPattern = regexp.MustCompile(`^[0-9]{1,32}$`)
	codePattern      = regexp.MustCompile(`^[0-9]{6}$`)
)

// ValidAccountID reports whether id has the shape of an account ID: digits
// only, at most 32 of them.
func ValidAccountID(id string) bool { return accountIDPattern.MatchString(id) }

// ValidCode reports whether code has the shape of a verification code: six
// digits.
func ValidCode(code string) bool { return codePattern.MatchString(code) }

// Step identifies one send of one flow of a member: Generation counts the
// times the member's flow was (re)started, Send the codes sent within it.
// Tasks carry the step they were made for; a handler that finds the member
// at another step knows the task is stale and drops it.
type Step struct {
	Generation int `json:"generation"`
	Send       int `json:"send"`
}

// SendCodePayload is the payload of TypeSendCode.
type SendCodePayload struct {
	AccountID string `json:"account_id"`
	Step
}

// CodeSubmittedPayload is the payload of TypeCodeSubmitted, the public
// callback format: {"account_id":"…","code":"123456"}, or
// {"phone":"…","code":"123456"} for the member of that phone whose code is
// live (any accepted form of the number).
//
// Step, set by the intake, names the send the code was handed in for: a
// code that reaches a member already at a later send is for a code that
// is spent, and is dropped rather than taken for the new one. Producers
// outside the project may leave it out.
type CodeSubmittedPayload struct {
	AccountID string `json:"account_id,omitempty"`
	Phone     string `json:"phone,omitempty"`
	Code      string `json:"code"`
	Step      *Step  `json:"step,omitempty"`
}

// BindPayload is the payload of TypeBind. Attempt numbers the codes handed
// in for this send; the code itself stays in the member store.
type BindPayload struct {
	AccountID string `json:"account_id"`
	Step
	Attempt int `json:"attempt"`
}

// CodeExpiryPayload is the payload of TypeCodeExpiry.
type CodeExpiryPayload struct {
	AccountID string `json:"account_id"`
	Step
}

// ReconcilePayload is the payload of TypeReconcile. Slot names the schedule
// slot (or "manual-…") so that many schedulers enqueue one run per slot.
type ReconcilePayload struct {
	Slot      string `json:"slot"`
	VerifyAll bool   `json:"verify_all"`
}

// NewSendCode returns the send task of one step of a member. Its task ID is
// derived from the step, so enqueueing it twice is a conflict, not a second
// SMS. A member's first code goes on QueueSend, any further code on
// QueueSendNext (the queue follows from the step, so every producer of a
// step uses the same one). Options in opts override the defaults.
func NewSendCode(accountID string, s Step, opts ...asynq.Option) (*asynq.Task, error) {
	queue := QueueSend
	if s.Send > 0 {
		queue = QueueSendNext
	}
	return newTask(TypeSendCode, SendCodePayload{AccountID: accountID, Step: s},
		append([]asynq.Option{asynq.Queue(queue), asynq.TaskID(SendTaskID(accountID, s)),
			asynq.MaxRetry(RetryBudget), asynq.Timeout(sendTimeout)}, opts...)...)
}

// NewHandOnSend returns the send of the member a phone's turn was handed
// on to, on QueueSendNext, due at at (ONBOARD_PHONE_GAP after the phone's
// last SMS); at or before now (the caller's clock) it is due at once. A copy
// of the same step still on QueueSend gives way to it (the worker's send
// lane drops that copy).
func NewHandOnSend(accountID string, s Step, at, now time.Time) (*asynq.Task, error) {
	opts := []asynq.Option{asynq.Queue(QueueSendNext)}
	if at.After(now) {
		opts = append(opts, asynq.ProcessAt(at))
	}
	return NewSendCode(accountID, s, opts...)
}

// SendTaskID is the task ID of the send task of one step.
func SendTaskID(accountID string, s Step) string {
	return "send:" + accountID + ":" + s.String()
}

// NewCodeSubmitted returns a callback task carrying a code, in the public
// format (no step).
func NewCodeSubmitted(accountID, code string) (*asynq.Task, error) {
	return newCodeSubmitted(accountID, code, nil)
}

// NewCodeSubmittedFor returns the callback task of a code handed in for
// send s, as the HTTP intake and `enqueue code` put it on the callback
// queue.
func NewCodeSubmittedFor(accountID, code string, s Step) (*asynq.Task, error) {
	return newCodeSubmitted(accountID, code, &s)
}

func newCodeSubmitted(accountID, code string, s *Step) (*asynq.Task, error) {
	if !ValidAccountID(accountID) {
		return nil, fmt.Errorf("%w: account_id must be digits", ErrBadPayload)
	}
	if !ValidCode(code) {
		return nil, fmt.Errorf("%w: code must be 6 digits", ErrBadPayload)
	}
	return newTask(TypeCodeSubmitted, CodeSubmittedPayload{AccountID: accountID, Code: code, Step: s},
		asynq.Queue(QueueCallback), asynq.MaxRetry(RetryBudget), asynq.Timeout(callbackTimeout))
}

// NewBind returns the bind task for one code handed in. Options in opts
// override the defaults.
func NewBind(accountID string, s Step, attempt int, opts ...asynq.Option) (*asynq.Task, error) {
	return newTask(TypeBind, BindPayload{AccountID: accountID, Step: s, Attempt: attempt},
		append([]asynq.Option{asynq.Queue(QueueBind), asynq.TaskID(BindTaskID(accountID, s, attempt)),
			asynq.MaxRetry(RetryBudget), asynq.Timeout(bindTimeout)}, opts...)...)
}

// BindTaskID is the task ID of the bind task for one code handed in.
func BindTaskID(accountID string, s Step, attempt int) string {
	return "bind:" + accountID + ":" + s.String() + ":a" + strconv.Itoa(attempt)
}

// NewCodeExpiry returns the task that fires when the code of step s expires.
func NewCodeExpiry(accountID string, s Step, at time.Time) (*asynq.Task, error) {
	return newTask(TypeCodeExpiry, CodeExpiryPayload{AccountID: accountID, Step: s},
		asynq.Queue(QueueControl), asynq.ProcessAt(at), asynq.TaskID(ExpiryTaskID(accountID, s)),
		asynq.MaxRetry(RetryBudget), asynq.Timeout(expiryTimeout))
}

// ExpiryTaskID is the task ID of the expiry task of one step.
func ExpiryTaskID(accountID string, s Step) string {
	return "expiry:" + accountID + ":" + s.String()
}

// NewReconcile returns a reconciliation run for a schedule slot. The task ID
// is the slot, so any number of schedulers enqueue one run per slot.
func NewReconcile(slot string, verifyAll bool) (*asynq.Task, error) {
	return newTask(TypeReconcile, ReconcilePayload{Slot: slot, VerifyAll: verifyAll},
		asynq.Queue(QueueControl), asynq.TaskID("reconcile:"+slot), asynq.MaxRetry(2))
}

// String renders a step as g<generation>s<send>.
func (s Step) String() string {
	return "g" + strconv.Itoa(s.Generation) + "s" + strconv.Itoa(s.Send)
}

func newTask(typ string, payload any, opts ...asynq.Option) (*asynq.Task, error) {
	b, err := json.Marshal(payload)
	if err != nil {
		return nil, fmt.Errorf("encode %s payload: %w", typ, err)
	}
	return asynq.NewTask(typ, b, opts...), nil
}

// Payload is a payload of the flow's tasks: each names the account it is
// about (a code handed in by phone names none).
type Payload interface {
	// Account is the account ID the task is about.
	Account() string
}

// Decode parses a task payload into p and checks that it names an account
// (and, for a code handed in, that the code has the shape of one).
func Decode[P Payload](t *asynq.Task) (P, error) {
	var p P
	if err := json.Unmarshal(t.Payload(), &p); err != nil {
		return p, fmt.Errorf("%w: %s: %v", ErrBadPayload, t.Type(), err)
	}
	if c, ok := any(p).(CodeSubmittedPayload); ok && !ValidCode(c.Code) {
		return p, fmt.Errorf("%w: %s: code must be 6 digits", ErrBadPayload, t.Type())
	}
	if c, ok := any(p).(CodeSubmittedPayload); ok && c.Phone != "" {
		if c.AccountID != "" {
			return p, fmt.Errorf("%w: %s: give account_id or phone, not both", ErrBadPayload, t.Type())
		}
		return p, nil
	}
	if !ValidAccountID(p.Account()) {
		return p, fmt.Errorf("%w: %s: account_id (or phone) missing, or account_id not digits", ErrBadPayload, t.Type())
	}
	return p, nil
}

// NotifyPayload is the payload of TypeNotify: the member whose phone's
// owner is told (the handler reads the phone from the member store), the
// event and the channel.
type NotifyPayload struct {
	AccountID string `json:"account_id"`
	Event     string `json:"event"`
	Channel   string `json:"channel"`
}

// notifyTimeout bounds one delivery, rate-limit wait included.
const notifyTimeout = time.Minute

// NotifyRetention keeps a delivered message's task ID taken, so the same
// message enqueued again (another worker, a redelivery, a restart) is
// refused: as long as an owner link is valid.
const NotifyRetention = 7 * 24 * time.Hour

// NewNotify returns the task of one message on one channel under taskID
// (internal/notify names it from the phone's keyed hash, the event and the
// send).
func NewNotify(p NotifyPayload, taskID string) (*asynq.Task, error) {
	return newTask(TypeNotify, p, asynq.Queue(QueueNotify), asynq.TaskID(taskID), asynq.MaxRetry(RetryBudget),
		asynq.Timeout(notifyTimeout), asynq.Retention(NotifyRetention))
}

// Account is the account ID of each payload (Payload).
func (p SendCodePayload) Account() string      { return p.AccountID }
func (p NotifyPayload) Account() string        { return p.AccountID }
func (p CodeSubmittedPayload) Account() string { return p.AccountID }
func (p BindPayload) Account() string          { return p.AccountID }
func (p CodeExpiryPayload) Account() string    { return p.AccountID }

// Redacted returns a copy of a task payload safe to show (dashboards, logs):
// a verification code is replaced by "******".
func Redacted(typ string, payload []byte) []byte {
	if typ != TypeCodeSubmitted {
		return payload
	}
	var p CodeSubmittedPayload
	if err := json.Unmarshal(payload, &p); err != nil {
		return []byte(`{"redacted":true}`)
	}
	p.Code = "******"
	if p.Phone != "" {
		p.Phone = phone.Mask(p.Phone)
	}
	b, _ := json.Marshal(p)
	return b
}
