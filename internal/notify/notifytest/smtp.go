// Package notifytest runs the far ends of the owner channels for tests: an
// SMTP server (the server side of github.com/emersion/go-smtp, STARTTLS or
// implicit TLS under a CA made for the test, AUTH PLAIN), and receivers of
// the signed webhook and the DingTalk, Feishu and WeCom robots that check
// signatures as the providers do and answer like them, rate limits
// included.
package notifytest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Mail is one message the SMTP server accepted.
type Mail struct {
	From string
	To   []string
	Raw  []byte
}

// Parsed returns the mail's headers and body.
func (m Mail) Parsed() (*mail.Message, error) { return mail.ReadMessage(bytes.NewReader(m.Raw)) }

// SMTP is a running SMTP server that needs AUTH PLAIN as User/Password.
type SMTP struct {
	// Addr is host:port.
	Addr string
	// CAFile is a PEM file of the CA that signed the server's certificate.
	CAFile         string
	User, Password string

	implicit bool
	tls      *tls.Config
	mu       sync.Mutex
	srv      *smtp.Server
	mails    []Mail
	arrived  chan struct{}
}

// StartSMTP starts a server on a free loopback port: STARTTLS, or implicit
// TLS when implicit is true. It stops with the test.
func StartSMTP(t testing.TB, implicit bool) *SMTP {
	t.Helper()
	caFile, cert := makeCA(t)
	s := &SMTP{CAFile: caFile, User: "mailer", Password: "p4ss-w0rd", implicit: implicit,
		tls: &tls.Config{Certificates: []tls.Certificate{cert}}, arrived: make(chan struct{}, 1024)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Addr = ln.Addr().String()
	s.serve(ln)
	t.Cleanup(func() { s.Stop() })
	return s
}

// URL is the ONBOARD_SMTP_URL of the server.
func (s *SMTP) URL() string {
	scheme := "smtp"
	if s.implicit {
		scheme = "smtps"
	}
	return scheme + "://" + s.User + ":" + s.Password + "@" + s.Addr
}

func (s *SMTP) serve(ln net.Listener) {
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &session{s: s}, nil }))
	srv.Domain = "localhost"
	srv.TLSConfig = s.tls
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	if s.implicit {
		ln = tls.NewListener(ln, s.tls)
	}
	s.mu.Lock()
	s.srv = srv
	s.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
}

// Stop closes the server: connections are refused until Start.
func (s *SMTP) Stop() {
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
	}
}

// Start serves again on the same address after Stop.
func (s *SMTP) Start(t testing.TB) {
	t.Helper()
	ln, err := net.Listen("tcp", s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	s.serve(ln)
}

// Mails returns the mails accepted so far.
func (s *SMTP) Mails() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Mail(nil), s.mails...)
}

// Arrived is signalled once per mail accepted.
func (s *SMTP) Arrived() <-chan struct{} { return s.arrived }

func (s *SMTP) add(m Mail) {
	s.mu.Lock()
	s.mails = append(s.mails, m)
	s.mu.Unlock()
	s.arrived <- struct{}{}
}

// session is one SMTP conversation; it refuses mail before AUTH.
type session struct {
	s      *SMTP
	authed bool
	mail   Mail
}

func (c *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (c *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != c.s.User || pass != c.s.Password {
			return errors.New("invalid credentials")
		}
		c.authed = true
		return nil
	}), nil
}

func (c *session) Mail(from string, _ *smtp.MailOptions) error {
	if !c.authed {
		return smtp.ErrAuthRequired
	}
	c.mail = Mail{From: from}
	return nil
}

func (c *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	c.mail.To = append(c.mail.To, to)
	return nil
}

func (c *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	c.mail.Raw = raw
	c.s.add(c.mail)
	return nil
}

func (c *session) Reset()        { c.mail = Mail{} }
func (c *session) Logout() error { return nil }

// makeCA makes a CA and a certificate it signs for 127.0.0.1 and
// localhost; it writes the CA to a PEM file.
func makeCA(t testing.TB) (string, tls.Certificate) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "notifytest CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "smtp-ca.pem")
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return file, tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}
