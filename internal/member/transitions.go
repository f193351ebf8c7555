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

// The transitions of the send (a pending member).
var (
	MarkSend = Transition{Name: "MarkSend", From: []State{Pending}, To: Pending, Quiet: true,
		Changes: "marks the send in flight (a redelivery then sends no second SMS); the count of codes handed in starts afresh",
		edits:   []Edit{ResetSubmissions()}}
	UnmarkSend = Transition{Name: "UnmarkSend", From: []State{Pending}, To: Pending, Quiet: true,
		Changes: "forgets the send in flight (the cloud answered, or the request never left: no SMS)",
		edits:   []Edit{ClearSending()}}
	NoteWaiting = Transition{Name: "NoteWaiting", From: []State{Pending}, To: Pending, Quiet: true,
		Changes: "records what the member waits for (waiting_for)"}
	RecordSend = Transition{Name: "RecordSend", From: []State{Pending}, To: CodeSent,
		Changes: "counts the send, sets the code's expiry, notes the phone's last SMS, resets the code attempts",
		edits: []Edit{IncrSends(), ResetAttempts(), NoteSMS(), SetWaiting(""), ClearError(), ClearCode(),
			ClearSending(), SetInDoubt(false)}}
	FindPhone = Transition{Name: "FindPhone", From: []State{Pending}, To: AlreadyBound,
		Changes: "GetAccount pre-flight or AccountSecureMobileAlreadyExists: no code sent",
		edits:   []Edit{ClearSending()}}
	FailSend = Transition{Name: "FailSend", From: []State{Pending}, To: Failed,
		Changes: "records the cloud's error (permanent, or retries used up)",
		edits:   []Edit{ClearCode(), ClearSending()}}
)

// The transitions of a code handed in and its bind.
var (
	TakeCode = Transition{Name: "TakeCode", From: []State{CodeSent}, To: CodeSubmitted,
		Changes: "keeps the code until its bind ends; counts one code attempt",
		edits:   []Edit{IncrAttempts()}}
	MarkBind = Transition{Name: "MarkBind", From: []State{CodeSubmitted}, To: CodeSubmitted, Quiet: true,
		Changes: "marks the bind in doubt before its request leaves",
		edits:   []Edit{SetInDoubt(true)}}
	UnmarkBind = Transition{Name: "UnmarkBind", From: []State{CodeSubmitted}, To: CodeSubmitted, Quiet: true,
		Changes: "forgets the doubt (the cloud answered: the bind did not happen)",
		edits:   []Edit{SetInDoubt(false)}}
	// Bind leaves cancelled too: a member cancelled while its bind was in
	// flight is bound all the same, as the cloud has the phone now.
	Bind = Transition{Name: "Bind", From: []State{CodeSubmitted, Cancelled}, To: Bound,
		Changes: "forgets the code, the error and the doubt",
		edits:   []Edit{ClearCode(), ClearError(), SetInDoubt(false)}}
	BindWasOurs = Transition{Name: "BindWasOurs", From: []State{CodeSubmitted}, To: Bound,
		Changes: "AccountSecureMobileAlreadyExists after a bind in doubt: that bind succeeded",
		edits:   []Edit{ClearCode(), SetInDoubt(false)}}
	FindPhoneOnBind = Transition{Name: "FindPhoneOnBind", From: []State{CodeSubmitted}, To: AlreadyBound,
		Changes: "AccountSecureMobileAlreadyExists, no bind of ours in doubt",
		edits:   []Edit{ClearCode(), SetInDoubt(false)}}
	RefuseCode = Transition{Name: "RefuseCode", From: []State{CodeSubmitted}, To: CodeSent,
		Changes: "Invalid.VerificationCode with attempts left: forgets the code, records the error",
		edits:   []Edit{ClearCode()}}
	FailBind = Transition{Name: "FailBind", From: []State{CodeSubmitted}, To: Failed,
		Changes: "records the cloud's error (permanent, or retries used up)",
		edits:   []Edit{ClearCode(), ClearSending()}}
)

// The transitions of a spent code: expired unanswered, or wrong too often.
var (
	ResendAfterExpiry = Transition{Name: "ResendAfterExpiry", From: []State{CodeSent}, To: Pending,
		Changes: "no code before expiry, sends left: a new send is due",
		edits:   []Edit{ClearCode(), SetInDoubt(false)}}
	GiveUpAfterExpiry = Transition{Name: "GiveUpAfterExpiry", From: []State{CodeSent}, To: Expired,
		Changes: "no code before expiry, all sends used",
		edits:   []Edit{ClearCode(), SetInDoubt(false)}}
	ResendAfterWrongCodes = Transition{Name: "ResendAfterWrongCodes", From: []State{CodeSubmitted}, To: Pending,
		Changes: "wrong code with attempts used (or the code expired), sends left: a new send is due",
		edits:   []Edit{ClearCode(), SetInDoubt(false)}}
	GiveUpAfterWrongCodes = Transition{Name: "GiveUpAfterWrongCodes", From: []State{CodeSubmitted}, To: Expired,
		Changes: "wrong code with attempts used (or the code expired), all sends used",
		edits:   []Edit{ClearCode(), SetInDoubt(false)}}
)

// Cancel is `enqueue cancel`: every state that is not terminal.
var Cancel = Transition{Name: "Cancel", From: live, To: Cancelled,
	Changes: "forgets the code, the send in flight and the doubt",
	edits:   []Edit{ClearCode(), ClearSending(), SetInDoubt(false)}}

// The transitions of reconciliation.
var (
	NoteRepair = Transition{Name: "NoteRepair", From: live, To: Stay,
		Changes: "records a repair in the history (a lost task enqueued again)"}
	ConfirmBind = Transition{Name: "ConfirmBind", From: live, To: Bound,
		Changes: "GetAccount shows the phone while a bind of ours was in flight: that bind succeeded",
		edits:   []Edit{ClearCode(), SetInDoubt(false), ClearSending()}}
	FindPhoneLater = Transition{Name: "FindPhoneLater", From: []State{Pending, CodeSent}, To: AlreadyBound,
		Changes: "GetAccount shows a phone bound outside the flow",
		edits:   []Edit{ClearCode(), SetInDoubt(false), ClearSending()}}
	FailArchived = Transition{Name: "FailArchived", From: live, To: Failed,
		Changes: "a task archived again after it was put back: records TaskArchived",
		edits:   []Edit{ClearCode(), ClearSending(), SetInDoubt(false)}}
)

// The moves of an admission (Store.Admit's script).
var (
	AdmitNew = Transition{Name: "AdmitNew", From: []State{Unadmitted}, To: Pending, Admission: true,
		Changes: "a roster row for an unknown account"}
	AdmitAgain = Transition{Name: "AdmitAgain", From: []State{Pending, CodeSent, Failed, Expired, Cancelled}, To: Pending, Admission: true,
		Changes: "a changed phone (no bind in flight or in doubt), --retry-failed, or a cancelled row again: a new flow"}
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
