package simworld

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/rdonboard/rdonboard/internal/localca"
)

// Mail is one message the mail server accepted.
type Mail struct {
	From string
	To   []string
	Raw  []byte
}

// Parsed returns the mail's headers and body.
func (m Mail) Parsed() (*mail.Message, error) { return mail.ReadMessage(bytes.NewReader(m.Raw)) }

// Parts returns the decoded subject and the text and HTML parts of a
// multipart/alternative mail (a single-part mail's body is its text).
func (m Mail) Parts() (subject, text, html string, err error) {
	msg, err := m.Parsed()
	if err != nil {
		return "", "", "", err
	}
	if subject, err = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject")); err != nil {
		return "", "", "", err
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || !strings.HasPrefix(mt, "multipart/") {
		b, rerr := io.ReadAll(msg.Body)
		return subject, string(b), "", rerr
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return subject, text, html, nil
		}
		if err != nil {
			return "", "", "", err
		}
		b, _ := io.ReadAll(p) // multipart.Reader undoes quoted-printable
		if strings.HasPrefix(p.Header.Get("Content-Type"), "text/html") {
			html = string(b)
		} else {
			text = string(b)
		}
	}
}

// LinkIn returns the first line of the mail's text part that is an
// http(s) URL whose path begins with path, alone on its line (how an owner
// email carries the owner link).
func (m Mail) LinkIn(path string) (string, bool) {
	_, text, _, err := m.Parts()
	if err != nil {
		return "", false
	}
	for _, l := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		l = strings.TrimSpace(l)
		if u, err := url.Parse(l); err == nil && (u.Scheme == "http" || u.Scheme == "https") &&
			strings.HasPrefix(u.Path, path) && !strings.ContainsAny(l, " \t") {
			return l, true
		}
	}
	return "", false
}

// MailOptions configures a MailServer.
type MailOptions struct {
	// Implicit serves TLS from the first byte (smtps://); otherwise the
	// server offers STARTTLS (smtp://).
	Implicit bool
	// Dir receives the PEM file of the CA made for the server.
	Dir string
	// User and Password are what AUTH PLAIN takes; default mailer and a
	// fixed password.
	User, Password string
	// Addr is where to listen; default a free loopback port.
	Addr string
}

// MailServer is an SMTP server (the server side of github.com/emersion/
// go-smtp) that keeps every mail it accepts: STARTTLS or implicit TLS
// under a CA made for it, AUTH PLAIN required before MAIL FROM. It can be
// stopped and started again on the same address, as a mail server that
// goes down for a while.
type MailServer struct {
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

// StartMail starts a mail server.
func StartMail(o MailOptions) (*MailServer, error) {
	if o.User == "" {
		o.User, o.Password = "mailer", "p4ss-w0rd"
	}
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	caFile, cert, err := makeCA(o.Dir)
	if err != nil {
		return nil, fmt.Errorf("mail server certificate: %w", err)
	}
	s := &MailServer{CAFile: caFile, User: o.User, Password: o.Password, implicit: o.Implicit,
		tls: &tls.Config{Certificates: []tls.Certificate{cert}}, arrived: make(chan struct{}, 4096)}
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return nil, fmt.Errorf("mail server: %w", err)
	}
	s.Addr = ln.Addr().String()
	s.serve(ln)
	return s, nil
}

// URL is the ONBOARD_SMTP_URL of the server.
func (s *MailServer) URL() string {
	scheme := "smtp"
	if s.implicit {
		scheme = "smtps"
	}
	return scheme + "://" + s.User + ":" + s.Password + "@" + s.Addr
}

func (s *MailServer) serve(ln net.Listener) {
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
func (s *MailServer) Stop() {
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
	}
}

// Start serves again on the same address after Stop.
func (s *MailServer) Start() error {
	ln, err := net.Listen("tcp", s.Addr)
	if err != nil {
		return fmt.Errorf("mail server: %w", err)
	}
	s.serve(ln)
	return nil
}

// Mails returns the mails accepted so far, in order.
func (s *MailServer) Mails() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Mail(nil), s.mails...)
}

// MailsTo returns the mails accepted so far for address, in order.
func (s *MailServer) MailsTo(address string) []Mail {
	var out []Mail
	for _, m := range s.Mails() {
		for _, to := range m.To {
			if strings.EqualFold(to, address) {
				out = append(out, m)
				break
			}
		}
	}
	return out
}

// Arrived is signalled once per mail accepted.
func (s *MailServer) Arrived() <-chan struct{} { return s.arrived }

func (s *MailServer) add(m Mail) {
	s.mu.Lock()
	s.mails = append(s.mails, m)
	s.mu.Unlock()
	select {
	case s.arrived <- struct{}{}:
	default:
	}
}

// session is one SMTP conversation; it refuses mail before AUTH.
type session struct {
	s      *MailServer
	authed bool
	mail   Mail
}

func (c *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (c *session) Auth(string) (sasl.Server, error) {
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
// localhost, and writes the CA to a PEM file in dir.
func makeCA(dir string) (string, tls.Certificate, error) {
	ca, err := localca.New("rdonboard mail catcher CA")
	if err != nil {
		return "", tls.Certificate{}, err
	}
	cert, err := ca.Server()
	if err != nil {
		return "", tls.Certificate{}, err
	}
	file := filepath.Join(dir, "smtp-ca.pem")
	if err := os.WriteFile(file, ca.PEM(), 0o600); err != nil {
		return "", tls.Certificate{}, err
	}
	return file, cert, nil
}
