package member

import (
	"slices"
)

// Transition is one named move of the state machine: the states a member
// may leave by it, the state it reaches, and what it changes besides the
// state. Every move the flow and reconciliation make is one of these, by
// name; docs/states.md lists the same table (a test keeps the two alike).
type Transition struct {
	// Name is the transition's name, as the docs and the logs give it.
	Name string
	// From lists the states the member may be in; any other is a conflict.
	From []State
	// To is the state it reaches; Stay for a move within a state.
	To State
	// Quiet moves record no history (field updates within a state).
	Quiet bool
	// Admission marks the moves only Store.Admit makes (in its script),
	// never through Store.Transition.
	Admission bool
	// Changes says what the move changes besides the state.
	Changes string
	edits   []Edit
}

// Stay is the To of a transition that leaves the member in the state it
// is in (a repair noted in the history).
const Stay State = ""

// Unadmitted is the From of AdmitNew: the member is not in the store yet.
const Unadmitted State = "(new)"

// Move returns the move of t with its reason and the edits that carry a
// value (a code, an expiry, an error) after t's own.
func (t Transition) Move(reason string, edits ...Edit) Move {
	return Move{Name: t.Name, From: t.From, To: t.To, Reason: reason, Quiet: t.Quiet,
		Edits: append(slices.Clone(t.edits), edits...)}
}

// In narrows m to a member seen in state s (a repair decided on what it
// saw): the move is refused unless the member is still in s, and a Stay
// move stays in s. A state t does not leave from refuses every member.
func (m Move) In(s State) Move {
	from := []State{}
	if slices.Contains(m.From, s) {
		from = []State{s}
	}
	m.From = from
	if m.To == Stay {
		m.To = s
	}
	return m
}

// move is the transition name from the states from to the state to, with
// what it changes besides the state (changes) and the edits that do it.
func move(name string, from []State, to State, changes string, edits ...Edit) Transition {
	return Transition{Name: name, From: from, To: to, Changes: changes, edits: edits}
}

// quiet is the transition name within state s: a field update that records
// no history.
func quiet(name string, s State, changes string, edits ...Edit) Transition {
	t := move(name, []State{s}, s, changes, edits...)
	t.Quiet = true
	return t
}

// admission is the move name of Store.Admit's script from the states from
// to pending.
func admission(name string, from []State, changes string) Transition {
	t := move(name, from, Pending, changes)
	t.Admission = true
	return t
}

// The transitions of the send (a pending member).
var (
	MarkSend    = quiet("MarkSend", Pending, "marks the send in flight (a redelivery then sends no second SMS); the count of codes handed in starts afresh", ResetSubmissions())
	UnmarkSend  = quiet("UnmarkSend", Pending, "forgets the send in flight (the cloud answered, or the request never left: no SMS)", ClearSending())
	NoteWaiting = quiet("NoteWaiting", Pending, "records what the member waits for (waiting_for)")
	RecordSend  = move("RecordSend", []State{Pending}, CodeSent, "counts the send, sets the code's expiry, notes the phone's last SMS, resets the code attempts",
		IncrSends(), ResetAttempts(), NoteSMS(), SetWaiting(""), ClearError(), ClearCode(), ClearSending(), SetInDoubt(false))
	FindPhone = move("FindPhone", []State{Pending}, AlreadyBound, "GetAccount pre-flight or AccountSecureMobileAlreadyExists: no code sent", ClearSending())
	FailSend  = move("FailSend", []State{Pending}, Failed, "records the cloud's error (permanent, or retries used up)", ClearCode(), ClearSending())
)

// The transitions of a code handed in and its bind.
var (
	TakeCode   = move("TakeCode", []State{CodeSent}, CodeSubmitted, "keeps the code until its bind ends; counts one code attempt", IncrAttempts())
	MarkBind   = quiet("MarkBind", CodeSubmitted, "marks the bind in doubt before its request leaves", SetInDoubt(true))
	UnmarkBind = quiet("UnmarkBind", CodeSubmitted, "forgets the doubt (the cloud answered: the bind did not happen)", SetInDoubt(false))
	// Bind leaves cancelled too: a member cancelled while its bind was in
	// flight is bound all the same, as the cloud has the phone now.
	Bind            = move("Bind", []State{CodeSubmitted, Cancelled}, Bound, "forgets the code, the error and the doubt", ClearCode(), ClearError(), SetInDoubt(false))
	BindWasOurs     = move("BindWasOurs", []State{CodeSubmitted}, Bound, "AccountSecureMobileAlreadyExists after a bind in doubt: that bind succeeded", ClearCode(), SetInDoubt(false))
	FindPhoneOnBind = move("FindPhoneOnBind", []State{CodeSubmitted}, AlreadyBound, "AccountSecureMobileAlreadyExists, no bind of ours in doubt", ClearCode(), SetInDoubt(false))
	RefuseCode      = move("RefuseCode", []State{CodeSubmitted}, CodeSent, "Invalid.VerificationCode with attempts left: forgets the code, records the error", ClearCode())
	FailBind        = move("FailBind", []State{CodeSubmitted}, Failed, "records the cloud's error (permanent, or retries used up)", ClearCode(), ClearSending())
)

// The transitions of a spent code: expired unanswered, or wrong too often.
var (
	ResendAfterExpiry     = move("ResendAfterExpiry", []State{CodeSent}, Pending, "no code before expiry, sends left: a new send is due", ClearCode(), SetInDoubt(false))
	GiveUpAfterExpiry     = move("GiveUpAfterExpiry", []State{CodeSent}, Expired, "no code before expiry, all sends used", ClearCode(), SetInDoubt(false))
	ResendAfterWrongCodes = move("ResendAfterWrongCodes", []State{CodeSubmitted}, Pending, "wrong code with attempts used (or the code expired), sends left: a new send is due", ClearCode(), SetInDoubt(false))
	GiveUpAfterWrongCodes = move("GiveUpAfterWrongCodes", []State{CodeSubmitted}, Expired, "wrong code with attempts used (or the code expired), all sends used", ClearCode(), SetInDoubt(false))
)

// Cancel is `enqueue cancel`: every state that is not terminal.
var Cancel = move("Cancel", live, Cancelled, "forgets the code, the send in flight and the doubt", ClearCode(), ClearSending(), SetInDoubt(false))

// The transitions of reconciliation.
var (
	NoteRepair     = move("NoteRepair", live, Stay, "records a repair in the history (a lost task enqueued again)")
	ConfirmBind    = move("ConfirmBind", live, Bound, "GetAccount shows the phone while a bind of ours was in flight: that bind succeeded", ClearCode(), SetInDoubt(false), ClearSending())
	FindPhoneLater = move("FindPhoneLater", []State{Pending, CodeSent}, AlreadyBound, "GetAccount shows a phone bound outside the flow", ClearCode(), SetInDoubt(false), ClearSending())
	FailArchived   = move("FailArchived", live, Failed, "a task archived again after it was put back: records TaskArchived", ClearCode(), ClearSending(), SetInDoubt(false))
)

// The moves of an admission (Store.Admit's script).
var (
	AdmitNew   = admission("AdmitNew", []State{Unadmitted}, "a roster row for an unknown account")
	AdmitAgain = admission("AdmitAgain", []State{Pending, CodeSent, Failed, Expired, Cancelled}, "a changed phone (no bind in flight or in doubt), --retry-failed, or a cancelled row again: a new flow")
)

// Transitions is the state machine: every transition, in the order of the
// flow.
var Transitions = []Transition{
	MarkSend, UnmarkSend, NoteWaiting, RecordSend, FindPhone, FailSend,
	TakeCode, MarkBind, UnmarkBind, Bind, BindWasOurs, FindPhoneOnBind, RefuseCode, FailBind,
	ResendAfterExpiry, GiveUpAfterExpiry, ResendAfterWrongCodes, GiveUpAfterWrongCodes,
	Cancel, NoteRepair, ConfirmBind, FindPhoneLater, FailArchived, AdmitNew, AdmitAgain,
}

// WithRequest records the cloud call that caused the move (history and the
// member's request_id).
func (m Move) WithRequest(requestID string) Move {
	m.RequestID = requestID
	return m
}
