// Package notify tells a phone's owner what to do: a message per event
// (the owner link when the phone's first code goes out, a reminder when a
// new code follows an unanswered one, the outcome when every account of the
// phone is finished) on each configured channel: email over SMTP, a signed
// JSON webhook, and the DingTalk, Feishu/Lark and WeCom chat robots.
//
// Each message is one asynq task per channel on the notify queue, named by
// a keyed hash of the phone, the event and the send, so that two workers, a
// redelivery or a restart never send it twice; the flow only enqueues, so a
// channel that is down never holds back a send or a bind. A message never
// carries a code, a secret or a full phone number: the one exception is the
// mention field of a chat robot, which needs the national mobile number.
package notify

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rdonboard/rdonboard/internal/phone"
)

// Event is what a message tells the owner.
type Event string

// The events (the webhook's "event" field).
const (
	// OwnerLink: the phone's first code was sent; here is the owner link.
	OwnerLink Event = "owner_link"
	// Reminder: a code expired unanswered and a new one was sent.
	Reminder Event = "reminder"
	// Done: every account of the phone is finished.
	Done Event = "done"
)

// Events lists the events, for parsing and metrics.
var Events = []Event{OwnerLink, Reminder, Done}

// Message is one message to a phone's owner. Phone is the full normalized
// number: channels show it masked (Masked) and only a chat robot's mention
// field carries its national part (Mobile).
type Message struct {
	Event    Event
	Phone    string
	Email    string
	URL      string
	Expires  time.Time
	Accounts int
	Bound    int
	SentAt   time.Time
}

// Masked is the phone as every message shows it.
func (m Message) Masked() string { return phone.Mask(m.Phone) }

// Mobile is the national mobile number a chat robot mentions (e.g.
// 13900001234 for 86-13900001234).
func (m Message) Mobile() string {
	if _, national, ok := strings.Cut(m.Phone, "-"); ok {
		return national
	}
	return m.Phone
}

// Channel delivers messages one way. Send returns the provider's message ID
// when it gives one.
type Channel interface {
	// Name is the channel's label in metrics and history: email, webhook,
	// dingtalk, feishu or wecom.
	Name() string
	Send(ctx context.Context, msg Message) (providerID string, err error)
}

// ErrSkip reports a message a channel has no recipient for (email to an
// owner the roster gave no address): recorded, not retried.
var ErrSkip = errors.New("no recipient")

// ErrRejected reports a message the provider refused for good (a bad
// signature or key, a malformed message): retrying would not help.
var ErrRejected = errors.New("rejected by the provider")

// ThrottledError reports a provider's rate-limit answer: the message should
// come back after After, without using a retry.
type ThrottledError struct {
	Channel string
	Code    string
	After   time.Duration
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("%s throttled (%s): try again in %s", e.Channel, e.Code, e.After)
}

// rejected wraps a provider's refusal with its code and message.
func rejected(channel string, code any, msg string) error {
	return fmt.Errorf("%s: code %v: %s: %w", channel, code, msg, ErrRejected)
}
