// Package cloud owns every conversation with Resource Directory: the
// actions the project calls (the two phone actions, GetAccount and the
// listings of members), the classification of every failure into one of
// a few kinds, and the redaction of secrets from what the SDK returns. The
// rest of the project sees only this package's interface and kinds, never an
// SDK type or an SDK error string.
package cloud

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Action names as the API spells them.
const (
	ActionSendCode              = "SendVerificationCodeForBindSecureMobilePhone"
	ActionBind                  = "BindSecureMobilePhone"
	ActionGetAccount            = "GetAccount"
	ActionListAccounts          = "ListAccounts"
	ActionListAccountsForParent = "ListAccountsForParent"
)

// MaxPageSize is the most accounts one ListAccounts or
// ListAccountsForParent page holds.
const MaxPageSize = 100

// Client is the cloud as the handlers see it. Implementations are safe for
// concurrent use and honour ctx (deadline and cancellation).
type Client interface {
	// SendCode asks the cloud to SMS a code to phone (86-1xxxxxxxxxx).
	SendCode(ctx context.Context, accountID, phone string) (SendResult, error)
	// Bind binds phone to the account with the code the person handed in.
	Bind(ctx context.Context, accountID, phone, code string) (BindResult, error)
	// GetAccount reports the cloud's view of a member.
	GetAccount(ctx context.Context, accountID string) (Account, error)
	// ListAccounts returns page pageNumber (from 1) of the directory's
	// members, pageSize (1..MaxPageSize) to a page. Listed accounts carry
	// no HasSecureMobilePhone: only GetAccount tells.
	ListAccounts(ctx context.Context, pageNumber, pageSize int) (AccountPage, error)
	// ListAccountsForParent is ListAccounts for the members directly in
	// one folder.
	ListAccountsForParent(ctx context.Context, folderID string, pageNumber, pageSize int) (AccountPage, error)
}

// AccountPage is one page of a listing of members.
type AccountPage struct {
	Accounts []Account
	// TotalCount is the number of members in the whole listing.
	TotalCount int
	PageNumber int
	PageSize   int
	RequestID  string
}

// SendResult is the answer to a successful SendCode.
type SendResult struct {
	RequestID string
	// ExpiresAt is the cloud's ExpirationDate of the code.
	ExpiresAt time.Time
}

// BindResult is the answer to a successful Bind.
type BindResult struct {
	RequestID string
}

// Account types as the API reports them.
const (
	AccountTypeResource = "ResourceAccount"
	AccountTypeCloud    = "CloudAccount"
)

// Account is the part of GetAccount (or of a listing) the project uses.
type Account struct {
	AccountID string
	// DisplayName is the member's name in the directory.
	DisplayName string
	// FolderID is the folder the member is in.
	FolderID string
	// ResourceDirectoryPath is where the member sits: the directory, the
	// root folder, each folder down to its own, then the member
	// (rd-…/r-…/fd-…/<account ID>).
	ResourceDirectoryPath string
	// Type is ResourceAccount or CloudAccount.
	Type string
	// Status is the account's status, e.g. CreateSuccess.
	Status string
	// HasSecureMobilePhone is true when a secure phone is already bound;
	// always false in a listing, which does not say.
	HasSecureMobilePhone bool
	RequestID            string
}

// Kind is the class of a failure, which decides what a handler does with it
// (README, "When the cloud says no").
type Kind int

// The kinds of failure. KindTransient is the zero value: an error nobody
// classified is retried with backoff, never treated as final.
const (
	// KindTransient: 5xx, timeouts, connection errors; retry with backoff.
	KindTransient Kind = iota
	// KindDone: the work is already done (AccountSecureMobileAlreadyExists).
	KindDone
	// KindMember: the person's input was wrong (Invalid.VerificationCode).
	KindMember
	// KindPermanent: this member can never succeed as asked; fail it.
	KindPermanent
	// KindDeferred: retry after a known time (daily send limit).
	KindDeferred
	// KindCallerWide: every member would fail alike; pause and tell the
	// operator.
	KindCallerWide
	// KindThrottled: the cloud asked us to slow down.
	KindThrottled
	// KindOutcomeUnknown: the request left but no answer came back; the
	// action may have happened (a send is then treated as sent).
	KindOutcomeUnknown
)

var kindNames = map[Kind]string{
	KindTransient:      "transient",
	KindDone:           "done",
	KindMember:         "member",
	KindPermanent:      "permanent",
	KindDeferred:       "deferred",
	KindCallerWide:     "caller_wide",
	KindThrottled:      "throttled",
	KindOutcomeUnknown: "outcome_unknown",
}

// String returns the kind's name as used in logs and metric labels.
func (k Kind) String() string {
	if s, ok := kindNames[k]; ok {
		return s
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Error is every failure of a Client call. Its text and fields carry no
// verification code, AccessKey secret, signature or full phone number.
type Error struct {
	Kind   Kind
	Action string
	// Code is the cloud's error code (e.g. Throttling.User), or a local one
	// for failures that never reached the cloud (e.g. Timeout, Connection).
	Code string
	// Message is the cloud's message, redacted.
	Message    string
	HTTPStatus int
	RequestID  string
	// RetryAt is, for KindDeferred, when the limit lifts (the next 00:00
	// Asia/Shanghai for the daily send limit); zero otherwise.
	RetryAt time.Time
	// Remedy is what an operator does about the failure, from the one
	// table of codes (Remedy); empty when nobody needs to act.
	Remedy string
}

// Error renders the failure for logs and the member store.
func (e *Error) Error() string {
	s := fmt.Sprintf("%s: %s (%s", e.Action, e.Code, e.Kind)
	if e.HTTPStatus != 0 {
		s += fmt.Sprintf(", HTTP %d", e.HTTPStatus)
	}
	if e.RequestID != "" {
		s += ", request " + e.RequestID
	}
	s += ")"
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// KindOf returns the kind of err: the Kind of a wrapped *Error, else
// KindTransient.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindTransient
}

// AsError returns the *Error wrapped in err, if any.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}
