// Package notifytest runs the far ends of the owner channels for tests: an
// SMTP server (internal/simworld's mail server: the server side of
// github.com/emersion/go-smtp, STARTTLS or implicit TLS under a CA made for
// the test, AUTH PLAIN), and receivers of the signed webhook and the
// DingTalk, Feishu and WeCom robots that check signatures as the providers
// do and answer like them, rate limits included.
package notifytest

import (
	"testing"

	"github.com/rdonboard/rdonboard/internal/simworld"
)

// Mail is one message the SMTP server accepted.
type Mail = simworld.Mail

// SMTP is a running SMTP server that needs AUTH PLAIN as User/Password.
type SMTP struct {
	*simworld.MailServer
}

// StartSMTP starts a server on a free loopback port: STARTTLS, or implicit
// TLS when implicit is true. It stops with the test.
func StartSMTP(t testing.TB, implicit bool) *SMTP {
	t.Helper()
	s, err := simworld.StartMail(simworld.MailOptions{Implicit: implicit, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return &SMTP{s}
}

// Start serves again on the same address after Stop.
func (s *SMTP) Start(t testing.TB) {
	t.Helper()
	if err := s.MailServer.Start(); err != nil {
		t.Fatal(err)
	}
}
