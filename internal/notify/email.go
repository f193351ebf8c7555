package notify

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"html"
	"net/url"
	"os"
	"strconv"
	"time"

	"github.com/wneessen/go-mail"

	"github.com/rdonboard/rdonboard/internal/i18n"
)

// smtpTimeout bounds one SMTP conversation.
const smtpTimeout = 30 * time.Second

// Email sends the message to the owner's address (the roster's email
// column) over SMTP: smtp:// with mandatory STARTTLS or smtps:// with
// implicit TLS, AUTH from the URL's user and password. The mail is
// multipart text and HTML in one language (ONBOARD_LOCALE); the text part
// has the owner link alone on a line.
type Email struct {
	client *mail.Client
	from   string
	lang   i18n.Localizer
}

// EmailConfig is what Email is built from.
type EmailConfig struct {
	// URL is ONBOARD_SMTP_URL.
	URL string
	// From is ONBOARD_SMTP_FROM.
	From string
	// CAFile is ONBOARD_SMTP_CA_FILE; empty means the system's roots.
	CAFile string
}

// NewEmail checks cfg and builds the SMTP client; nothing is dialled yet.
func NewEmail(cfg EmailConfig, l i18n.Localizer) (*Email, error) {
	opts, err := smtpOptions(cfg)
	if err != nil {
		return nil, err
	}
	u, _ := url.Parse(cfg.URL)
	c, err := mail.NewClient(u.Hostname(), opts...)
	if err != nil {
		return nil, fmt.Errorf("ONBOARD_SMTP_URL: %w", err)
	}
	if err := mail.NewMsg().From(cfg.From); err != nil {
		return nil, fmt.Errorf("ONBOARD_SMTP_FROM %q: %w", cfg.From, err)
	}
	return &Email{client: c, from: cfg.From, lang: l}, nil
}

// smtpOptions turns the URL and CA file into go-mail options.
func smtpOptions(cfg EmailConfig) ([]mail.Option, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || u.Hostname() == "" {
		return nil, fmt.Errorf("ONBOARD_SMTP_URL: want smtp://user:pass@host:587 or smtps://user:pass@host:465")
	}
	tlsCfg, err := smtpTLS(u.Hostname(), cfg.CAFile)
	if err != nil {
		return nil, err
	}
	opts := []mail.Option{mail.WithTLSConfig(tlsCfg), mail.WithTimeout(smtpTimeout)}
	port := 587
	switch u.Scheme {
	case "smtps":
		port = 465
		opts = append(opts, mail.WithSSL())
	case "smtp":
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	default:
		return nil, fmt.Errorf("ONBOARD_SMTP_URL: scheme %q: want smtp or smtps", u.Scheme)
	}
	if p := u.Port(); p != "" {
		if port, err = strconv.Atoi(p); err != nil {
			return nil, fmt.Errorf("ONBOARD_SMTP_URL: port %q", p)
		}
	}
	opts = append(opts, mail.WithPort(port))
	if u.User != nil {
		pass, _ := u.User.Password()
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthPlain), mail.WithUsername(u.User.Username()), mail.WithPassword(pass))
	}
	return opts, nil
}

// smtpTLS returns the TLS settings for host, trusting caFile's CAs when set.
func smtpTLS(host, caFile string) (*tls.Config, error) {
	cfg := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	if caFile == "" {
		return cfg, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("ONBOARD_SMTP_CA_FILE: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("ONBOARD_SMTP_CA_FILE %s: no PEM certificate in it", caFile)
	}
	cfg.RootCAs = pool
	return cfg, nil
}

// Name is "email".
func (e *Email) Name() string { return "email" }

// Send mails msg to msg.Email; an owner without an address is ErrSkip.
func (e *Email) Send(ctx context.Context, msg Message) (string, error) {
	if msg.Email == "" {
		return "", ErrSkip
	}
	m, err := e.compose(msg)
	if err != nil {
		return "", err
	}
	if err := e.client.DialAndSendWithContext(ctx, m); err != nil {
		return "", fmt.Errorf("email: %w", err)
	}
	return m.GetMessageID(), nil
}

// compose builds the multipart mail of msg.
func (e *Email) compose(msg Message) (*mail.Msg, error) {
	t := Render(e.lang, msg)
	m := mail.NewMsg()
	if err := m.From(e.from); err != nil {
		return nil, fmt.Errorf("email: from: %w", err)
	}
	if err := m.To(msg.Email); err != nil {
		return nil, fmt.Errorf("email: owner address: %w: %w", err, ErrRejected)
	}
	m.Subject(t.Subject)
	m.SetMessageID()
	m.SetDate()
	m.SetBodyString(mail.TypeTextPlain, t.plain())
	m.AddAlternativeString(mail.TypeTextHTML, e.html(t))
	return m, nil
}

// html is the HTML part: the same words, the link as a link.
func (e *Email) html(t Text) string {
	s := `<!doctype html><html lang="` + string(e.lang.Lang()) + `"><body><h2>` + html.EscapeString(t.Subject) +
		`</h2><p>` + html.EscapeString(t.Body) + `</p>`
	if t.URL != "" {
		u := html.EscapeString(t.URL)
		s += `<p><a href="` + u + `">` + html.EscapeString(e.lang.T(i18n.OpenLink)) + `</a></p><p>` + u + `</p>`
	}
	return s + `</body></html>`
}

var _ Channel = (*Email)(nil)
