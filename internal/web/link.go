package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/internal/phone"
	"github.com/rdonboard/rdonboard/tasks"
)

// LinkPath is the path under which the self-service links live.
const LinkPath = "/c/"

// The ways a link fails. Each has its own message on the page.
var (
	// ErrLinksOff reports that no link secret is configured.
	ErrLinksOff = errors.New("self-service links are off: set ONBOARD_LINK_SECRET on the worker")
	// ErrBadLink reports a link that was not signed by this service for
	// the member it names (tampered, truncated, or for an unknown member).
	ErrBadLink = errors.New("link is not valid")
	// ErrLinkExpired reports a link whose code has expired.
	ErrLinkExpired = errors.New("link has expired")
	// ErrLinkUsed reports a link for an earlier send: the member has moved
	// on (a new code was sent, or the flow ended).
	ErrLinkUsed = errors.New("link is for an earlier code")
)

// Links signs and reads the self-service code links. A link names one
// member and one send of a code to it (the member's Step), and expires with
// that code; it is signed with HMAC-SHA256 under the server's secret, so it
// cannot be made for another member, another send or a later expiry.
type Links struct {
	key []byte
	now func() time.Time
}

// NewLinks returns the links signed with secret, or nil when secret is
// empty (links are off). now is the clock; nil means time.Now.
func NewLinks(secret string, now func() time.Time) *Links {
	if secret == "" {
		return nil
	}
	if now == nil {
		now = time.Now
	}
	return &Links{key: []byte(secret), now: now}
}

// Claim is what a valid link says.
type Claim struct {
	AccountID string
	Step      tasks.Step
	Expires   time.Time
}

// Link is a member's self-service link as the operator hands it out.
type Link struct {
	AccountID   string    `json:"account_id"`
	MobilePhone string    `json:"mobile_phone"`
	URL         string    `json:"url"`
	ExpiresAt   time.Time `json:"expires_at"`
}

// For returns the link of m under base (a URL without trailing slash). It
// fails with member.ErrNotWaiting unless m waits for a code that has not
// expired, and with ErrLinksOff on a nil *Links.
func (l *Links) For(m member.Member, base string) (Link, error) {
	if l == nil {
		return Link{}, ErrLinksOff
	}
	if m.State != member.CodeSent || !l.now().Before(m.CodeExpiresAt) {
		return Link{}, fmt.Errorf("member %s is %s: %w", m.AccountID, m.State, member.ErrNotWaiting)
	}
	c := Claim{AccountID: m.AccountID, Step: m.Step(), Expires: m.CodeExpiresAt.Truncate(time.Second)}
	return Link{
		AccountID:   m.AccountID,
		MobilePhone: phone.Mask(m.Phone),
		URL:         strings.TrimRight(base, "/") + LinkPath + l.sign(c),
		ExpiresAt:   c.Expires.UTC(),
	}, nil
}

// sign renders c as a path segment: its fields and their MAC.
func (l *Links) sign(c Claim) string {
	body := strings.Join([]string{c.AccountID, strconv.Itoa(c.Step.Generation), strconv.Itoa(c.Step.Send),
		strconv.FormatInt(c.Expires.Unix(), 10)}, ".")
	return body + "." + base64.RawURLEncoding.EncodeToString(l.mac(body))
}

func (l *Links) mac(body string) []byte {
	h := hmac.New(sha256.New, l.key)
	h.Write([]byte("rdonboard code link v1\x00" + body))
	return h.Sum(nil)
}

// Read checks a link's path segment and returns its claim, or ErrBadLink,
// ErrLinkExpired, or ErrLinksOff on a nil *Links.
func (l *Links) Read(segment string) (Claim, error) {
	if l == nil {
		return Claim{}, ErrLinksOff
	}
	cut := strings.LastIndexByte(segment, '.')
	if cut < 0 {
		return Claim{}, ErrBadLink
	}
	mac, err := base64.RawURLEncoding.Strict().DecodeString(segment[cut+1:])
	if err != nil || !hmac.Equal(mac, l.mac(segment[:cut])) {
		return Claim{}, ErrBadLink
	}
	c, err := parseClaim(segment[:cut])
	if err != nil {
		return Claim{}, ErrBadLink
	}
	if !l.now().Before(c.Expires) {
		return c, ErrLinkExpired
	}
	return c, nil
}

func parseClaim(body string) (Claim, error) {
	f := strings.Split(body, ".")
	if len(f) != 4 || !tasks.ValidAccountID(f[0]) {
		return Claim{}, ErrBadLink
	}
	gen, err1 := strconv.Atoi(f[1])
	send, err2 := strconv.Atoi(f[2])
	exp, err3 := strconv.ParseInt(f[3], 10, 64)
	if err := errors.Join(err1, err2, err3); err != nil {
		return Claim{}, err
	}
	return Claim{AccountID: f[0], Step: tasks.Step{Generation: gen, Send: send}, Expires: time.Unix(exp, 0)}, nil
}

// BaseURL is where phone owners reach the worker: publicURL
// (ONBOARD_PUBLIC_URL) when set, else http://httpAddr (ONBOARD_HTTP_ADDR),
// with an unspecified host read as localhost.
func BaseURL(publicURL, httpAddr string) string {
	return BaseURLFor(publicURL, httpAddr, false)
}

// BaseURLFor is BaseURL for a worker that serves HTTPS when withTLS is set
// (ONBOARD_TLS_CERT): its default base is then https://httpAddr.
func BaseURLFor(publicURL, httpAddr string, withTLS bool) string {
	if publicURL != "" {
		return strings.TrimRight(publicURL, "/")
	}
	host, port, err := net.SplitHostPort(httpAddr)
	if err == nil && (host == "" || host == "0.0.0.0" || host == "::") {
		httpAddr = net.JoinHostPort("localhost", port)
	}
	if withTLS {
		return "https://" + httpAddr
	}
	return "http://" + httpAddr
}
