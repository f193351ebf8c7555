package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"time"
)

// SignatureHeader carries the webhook body's HMAC-SHA256.
const SignatureHeader = "X-Rdonboard-Signature"

// Webhook posts a signed JSON event per message (ONBOARD_NOTIFY_WEBHOOK,
// ONBOARD_NOTIFY_SECRET). Any 2xx answer is a delivery; a 4xx other than
// 429 is a refusal.
type Webhook struct {
	url    string
	secret []byte
	poster poster
}

// NewWebhook returns the webhook channel; client nil means a default
// client with a 10 s timeout.
func NewWebhook(url, secret string, client *http.Client) *Webhook {
	return &Webhook{url: url, secret: []byte(secret), poster: newPoster(client)}
}

// Name is "webhook".
func (w *Webhook) Name() string { return "webhook" }

// webhookBody is the event as the receiver reads it (README, "Telling the
// phone's owner"); the phone is masked.
type webhookBody struct {
	Event    Event  `json:"event"`
	Phone    string `json:"phone"`
	Email    string `json:"email"`
	URL      string `json:"url"`
	Accounts int    `json:"accounts"`
	Bound    int    `json:"bound"`
	SentAt   string `json:"sent_at"`
}

// Sign returns the X-Rdonboard-Signature value of body under secret.
func Sign(secret, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Send posts msg.
func (w *Webhook) Send(ctx context.Context, msg Message) (string, error) {
	body, err := json.Marshal(webhookBody{Event: msg.Event, Phone: msg.Masked(), Email: msg.Email, URL: msg.URL,
		Accounts: msg.Accounts, Bound: msg.Bound, SentAt: msg.SentAt.UTC().Format(time.RFC3339)})
	if err != nil {
		return "", err
	}
	status, err := w.poster.post(ctx, w.Name(), w.url, body, http.Header{SignatureHeader: {Sign(w.secret, body)}}, nil)
	switch {
	case err != nil:
		return "", err
	case status == http.StatusTooManyRequests:
		return "", &ThrottledError{Channel: w.Name(), Code: "429", After: time.Minute}
	case status >= 300:
		return "", rejected(w.Name(), status, http.StatusText(status))
	}
	return "", nil
}

var _ Channel = (*Webhook)(nil)
