package member

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rdonboard/rdonboard/internal/deploykey"
	"github.com/rdonboard/rdonboard/tasks"
)

// DefaultPrefix is the prefix of every key the store writes.
const DefaultPrefix = "rdonboard:"

// ErrNotFound reports an account ID the store has never admitted.
var ErrNotFound = errors.New("member not found")

// ErrConflict reports a transition from a state it did not expect: another
// delivery or worker moved the member first. Use errors.As with
// *ConflictError for the state found.
var ErrConflict = errors.New("member is not in an expected state")

// ErrStale reports a transition guarded by a flow step the member has left
// (a restarted flow, or a later send).
var ErrStale = errors.New("task is for an earlier step of the member")

// ConflictError is a refused transition, with the state the member was in.
type ConflictError struct {
	AccountID string
	State     State
	stale     bool
}

// Error names the member and the state it was found in; it carries no
// code or phone, so it is safe to log and to return to a caller.
func (e *ConflictError) Error() string {
	if e.stale {
		return fmt.Sprintf("member %s: %v (now %s)", e.AccountID, ErrStale, e.State)
	}
	return fmt.Sprintf("member %s: %v (it is %s)", e.AccountID, ErrConflict, e.State)
}

// Unwrap makes errors.Is match ErrConflict or ErrStale.
func (e *ConflictError) Unwrap() error {
	if e.stale {
		return ErrStale
	}
	return ErrConflict
}

// Store is the member store. It is safe for concurrent use.
type Store struct {
	rdb    redis.UniversalClient
	prefix string
	now    func() time.Time
	gap    time.Duration

	// codeKey is the deployment's code fingerprint key, read from Redis
	// once.
	codeKey *deploykey.Key
}

// Options configures a Store.
type Options struct {
	// Prefix of every key; default DefaultPrefix.
	Prefix string
	// Now is the clock; default time.Now.
	Now func() time.Time
	// PhoneGap is the least time between two SMS to one phone
	// (ONBOARD_PHONE_GAP); it tells PhoneSummary when the next may go.
	PhoneGap time.Duration
}

// Now is the store's clock (Options.Now): the time its records and the
// hand-on times it returns are stamped with.
func (s *Store) Now() time.Time { return s.now() }

// New returns a store over rdb.
func New(rdb redis.UniversalClient, opts Options) *Store {
	if opts.Prefix == "" {
		opts.Prefix = DefaultPrefix
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Store{rdb: rdb, prefix: opts.Prefix, now: opts.Now, gap: opts.PhoneGap,
		codeKey: deploykey.New(rdb, opts.Prefix+"codekey")}
}

// Redis returns the client the store uses.
func (s *Store) Redis() redis.UniversalClient { return s.rdb }

// Prefix returns the prefix of the store's keys, for packages that keep
// their own records beside it.
func (s *Store) Prefix() string { return s.prefix }

func (s *Store) memberKey(id string) string   { return s.prefix + "m:" + id }
func (s *Store) historyKey(id string) string  { return s.prefix + "h:" + id }
func (s *Store) batchesKey() string           { return s.prefix + "batches" }
func (s *Store) phoneKey(phone string) string { return s.prefix + "p:" + phone }
func (s *Store) phonesKey() string            { return s.prefix + "phones" }
func (s *Store) lastSMSKey(phone string) string {
	return s.prefix + "pl:" + phone
}
func (s *Store) indexKey(batch string, st State) string {
	return s.prefix + "i:" + batch + ":" + string(st)
}

// Get returns one member, or ErrNotFound.
func (s *Store) Get(ctx context.Context, id string) (Member, error) {
	vals, err := s.rdb.HGetAll(ctx, s.memberKey(id)).Result()
	if err != nil {
		return Member{}, fmt.Errorf("get member %s: %w", id, err)
	}
	if len(vals) == 0 {
		return Member{}, fmt.Errorf("member %s: %w", id, ErrNotFound)
	}
	return decode(id, vals), nil
}

// Move is one guarded transition of a member; Transition.Move makes the
// moves of the named transitions.
type Move struct {
	// Name is the Transition the move is of ("" for a move made by hand).
	Name string
	// From lists the states the member may be in; any other is a conflict.
	From []State
	// To is the state the member ends in (it may equal the one it is in).
	To State
	// Guard, when set, refuses the move (ErrStale) unless the member is at
	// exactly this step.
	Guard *tasks.Step
	// Attempt, when set, refuses the move (ErrStale) unless the member's
	// code_attempts is exactly this: a move decided on one code handed in
	// must not apply to a newer one.
	Attempt *int
	// Reason is recorded in the history.
	Reason string
	// RequestID of the cloud call that caused the move, if any; recorded in
	// the history and as the member's request_id.
	RequestID string
	// Edits change fields along with the state.
	Edits []Edit
	// Quiet moves record no history: field updates within a state that are
	// not part of the audit trail (a send marked in flight).
	Quiet bool
}

// change is the JSON document transitionScript applies.
type change struct {
	From   []State           `json:"from"`
	To     State             `json:"to"`
	Gen    *int              `json:"gen,omitempty"`
	Send   *int              `json:"send,omitempty"`
	Att    *int              `json:"att,omitempty"`
	Set    map[string]string `json:"set,omitempty"`
	Incr   map[string]int    `json:"incr,omitempty"`
	Del    []string          `json:"del,omitempty"`
	Now    int64             `json:"now"`
	Score  int64             `json:"score,omitempty"`
	Reason string            `json:"reason"`
	Req    string            `json:"req,omitempty"`
	Quiet  bool              `json:"quiet,omitempty"`
	SMS    bool              `json:"sms,omitempty"`
}

// Edit changes a field of a member as part of a Move.
type Edit func(*change)

func (c *change) set(field, value string) {
	if c.Set == nil {
		c.Set = map[string]string{}
	}
	c.Set[field] = value
}

// IncrSends counts one more code sent.
func IncrSends() Edit {
	return func(c *change) {
		if c.Incr == nil {
			c.Incr = map[string]int{}
		}
		c.Incr["sends"]++
	}
}

// IncrAttempts counts one more code handed in for the current send.
func IncrAttempts() Edit {
	return func(c *change) {
		if c.Incr == nil {
			c.Incr = map[string]int{}
		}
		c.Incr["att"]++
	}
}

// ResetAttempts sets the count of codes handed in to zero (a new send).
func ResetAttempts() Edit { return func(c *change) { c.set("att", "0") } }

// SetExpiry records when the current code expires; it also becomes the
// member's score in the code_sent index, so due expiries come first.
func SetExpiry(t time.Time) Edit {
	return func(c *change) {
		c.set("exp", strconv.FormatInt(t.UnixMilli(), 10))
		c.Score = t.UnixMilli()
	}
}

// SetError records the cloud's (redacted) error code and message.
func SetError(code, message string) Edit {
	return func(c *change) {
		c.set("ecode", code)
		c.set("emsg", message)
	}
}

// ClearError forgets the last error.
func ClearError() Edit { return func(c *change) { c.Del = append(c.Del, "ecode", "emsg") } }

// SetCode keeps the code handed in until its bind ends.
func SetCode(code string) Edit { return func(c *change) { c.set("code", code) } }

// ClearCode forgets the code handed in.
func ClearCode() Edit { return func(c *change) { c.Del = append(c.Del, "code") } }

// SetInDoubt records whether a bind of the current code may have happened
// without an answer.
func SetInDoubt(inDoubt bool) Edit {
	return func(c *change) {
		if inDoubt {
			c.set("doubt", "1")
			return
		}
		c.Del = append(c.Del, "doubt")
	}
}

// NoteSMS records the move's time as the last SMS to the member's phone,
// from which the next SMS to that phone waits ONBOARD_PHONE_GAP.
func NoteSMS() Edit { return func(c *change) { c.SMS = true } }

// SetWaiting records what a pending member waits for ("" for nothing).
func SetWaiting(what string) Edit {
	return func(c *change) {
		if what == "" {
			c.Del = append(c.Del, "wait")
			return
		}
		c.set("wait", what)
	}
}

// SetSending marks the send of step s as in flight.
func SetSending(s tasks.Step) Edit { return func(c *change) { c.set("sending", s.String()) } }

// ClearSending forgets a send in flight.
func ClearSending() Edit { return func(c *change) { c.Del = append(c.Del, "sending") } }

// Transition applies m to member id atomically and returns the member after
// it. A member in a state outside m.From gives a *ConflictError matching
// ErrConflict; one at another step than m.Guard, ErrStale.
func (s *Store) Transition(ctx context.Context, id string, m Move) (Member, error) {
	if m.To == Stay {
		return Member{}, fmt.Errorf("transition %s of %s: no state to move to (narrow it with In)", m.Name, id)
	}
	doc, err := json.Marshal(s.changeOf(m))
	if err != nil {
		return Member{}, fmt.Errorf("encode transition of %s: %w", id, err)
	}
	res, err := transitionScript.Run(ctx, s.rdb, nil, s.prefix, id, doc).StringSlice()
	if err != nil {
		return Member{}, fmt.Errorf("transition %s to %s: %w", id, m.To, err)
	}
	switch res[0] {
	case "ok":
		m := decode(id, pairs(res[5:]))
		if res[1] != "" {
			m.HandOn = s.handOn(res[1:5])
		}
		return m, nil
	case "missing":
		return Member{}, fmt.Errorf("member %s: %w", id, ErrNotFound)
	default:
		return Member{}, &ConflictError{AccountID: id, State: State(res[1]), stale: res[0] == "stale"}
	}
}

func (s *Store) changeOf(m Move) change {
	c := change{From: m.From, To: m.To, Now: s.now().UnixMilli(), Reason: m.Reason, Req: m.RequestID, Quiet: m.Quiet}
	if m.Guard != nil {
		gen, send := m.Guard.Generation, m.Guard.Send
		c.Gen, c.Send = &gen, &send
	}
	if m.Attempt != nil {
		att := *m.Attempt
		c.Att = &att
	}
	if m.RequestID != "" {
		c.set("req", m.RequestID)
	}
	for _, e := range m.Edits {
		e(&c)
	}
	return c
}

// History returns the transitions of member id, oldest first.
func (s *Store) History(ctx context.Context, id string) ([]Event, error) {
	raw, err := s.rdb.LRange(ctx, s.historyKey(id), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("history of %s: %w", id, err)
	}
	events := make([]Event, 0, len(raw))
	for _, r := range raw {
		var e struct {
			T int64  `json:"t"`
			F string `json:"f"`
			S string `json:"s"`
			R string `json:"r"`
			Q string `json:"q"`
		}
		if err := json.Unmarshal([]byte(r), &e); err != nil {
			return nil, fmt.Errorf("history of %s: entry %q: %w", id, r, err)
		}
		events = append(events, Event{At: time.UnixMilli(e.T).UTC(), From: State(e.F), To: State(e.S), Reason: e.R, RequestID: e.Q})
	}
	return events, nil
}

func pairs(flat []string) map[string]string {
	m := make(map[string]string, len(flat)/2)
	for i := 0; i+1 < len(flat); i += 2 {
		m[flat[i]] = flat[i+1]
	}
	return m
}

func decode(id string, f map[string]string) Member {
	return Member{
		AccountID:        id,
		Phone:            f["phone"],
		Batch:            f["batch"],
		DisplayName:      f["dn"],
		Email:            f["email"],
		State:            State(f["state"]),
		WaitingFor:       f["wait"],
		Generation:       atoi(f["gen"]),
		Sends:            atoi(f["sends"]),
		CodeAttempts:     atoi(f["att"]),
		CodeExpiresAt:    millis(f["exp"]),
		LastErrorCode:    f["ecode"],
		LastErrorMessage: f["emsg"],
		RequestID:        f["req"],
		UpdatedAt:        millis(f["upd"]),
		CreatedAt:        millis(f["crt"]),
		Code:             f["code"],
		BindInDoubt:      f["doubt"] == "1",
		Sending:          f["sending"],
	}
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

func millis(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}
	}
	return time.UnixMilli(n).UTC()
}
