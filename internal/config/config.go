// Package config owns the settings of both binaries: each is an
// environment variable (README, "Configuration") and a flag of the same
// meaning; a flag given on the command line wins over the variable, which
// wins over the default.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"
	// Owner pages show times in ONBOARD_TIMEZONE even in a minimal
	// container without a zone database.
	_ "time/tzdata"

	"github.com/robfig/cron/v3"
	"github.com/spf13/pflag"

	"github.com/rdonboard/rdonboard/internal/sendwindow"
)

// Config is every setting of the worker and the producer.
type Config struct {
	// RedisURL is REDIS_URL (redis://, rediss://, redis-sentinel://).
	RedisURL string
	// RedisCAFile is a PEM bundle to trust for rediss://.
	RedisCAFile string
	// CloudEndpoint is the full URL of the Resource Manager API.
	CloudEndpoint string
	// Region is the region ID sent with each call.
	Region string
	// SendQPS, BindQPS and GetQPS are call rates across all workers.
	SendQPS, BindQPS, GetQPS float64
	// Concurrency is the number of task handlers per worker process.
	Concurrency int
	// HTTPAddr is the listen address of the worker's HTTP server.
	HTTPAddr string
	// CallbackToken is the bearer token of the HTTP API; empty disables it.
	CallbackToken string
	// MaxSends is the number of codes sent to one member before it expires.
	MaxSends int
	// MaxCodeAttempts is the number of codes accepted for one sent code.
	MaxCodeAttempts int
	// ReconcileCron is the schedule of reconciliation runs.
	ReconcileCron string
	// LogFormat is json or console; empty picks console on a terminal.
	LogFormat string
	// LogLevel is debug, info, warn or error.
	LogLevel string
	// CloudTimeout bounds one cloud call.
	CloudTimeout time.Duration
	// PollInterval is the longest an idle worker waits for a task to be
	// announced before it looks at its queues anyway; default 1 s.
	PollInterval time.Duration
	// LinkSecret signs the self-service code links; empty disables them.
	LinkSecret string
	// PublicURL is the base URL people reach the worker's HTTP server at,
	// for the links; empty means http://HTTPAddr.
	PublicURL string
	// DashboardWritable lets the queue dashboard act on tasks and queues
	// (delete, run, pause); off by default: read-only.
	DashboardWritable bool
	// ListQPS is the rate of ListAccounts calls across all processes.
	ListQPS float64
	// Site is china (only 86- numbers) or international (any but 86).
	Site string
	// PhoneGap is the least time between two SMS to the same phone.
	PhoneGap time.Duration
	// SendWindow is the local hours in which SMS may be sent
	// ("09:00-21:00"); empty: any time. See SendWindowIn.
	SendWindow string
	// Timezone is the zone of the send window and of times shown to phone
	// owners. See Location.
	Timezone string
	// Locale is the language of owner pages and messages: zh-CN or en.
	Locale string
	// TLSCert and TLSKey are PEM files; with both, the worker serves HTTPS.
	TLSCert, TLSKey string
	// SMTPURL is smtp://user:pass@host:587 (STARTTLS) or smtps://…:465.
	SMTPURL string
	// SMTPFrom is the sender address of owner emails.
	SMTPFrom string
	// SMTPCAFile is a PEM bundle of CAs for the SMTP server's certificate.
	SMTPCAFile string
	// NotifyWebhook and NotifySecret: URL of the signed JSON webhook and
	// its HMAC key.
	NotifyWebhook, NotifySecret string
	// NotifyDingTalk and NotifyDingTalkSecret: DingTalk robot URL and its
	// signing secret.
	NotifyDingTalk, NotifyDingTalkSecret string
	// NotifyFeishu and NotifyFeishuSecret: Feishu/Lark bot URL and its
	// signing secret.
	NotifyFeishu, NotifyFeishuSecret string
	// NotifyWeCom is the WeCom group robot URL (its key is the secret).
	NotifyWeCom string
}

// Sites accepted by ONBOARD_SITE.
const (
	SiteChina         = "china"
	SiteInternational = "international"
)

// MinSecretLen is the least length of the callback token and link secret.
const MinSecretLen = 16

// setting is one variable and its flag.
type setting struct {
	env, flag, usage string
	kind             kind
}

// kind registers a flag for a field and parses the variable into it.
type kind struct {
	register func(fs *pflag.FlagSet, c *Config, flag, usage string)
	parse    func(fs *pflag.FlagSet, flag, raw string) error
}

var settings = []setting{
	{"REDIS_URL", "redis-url", "Redis URL: redis://, rediss:// (TLS) or redis-sentinel://", str(func(c *Config) *string { return &c.RedisURL }, "redis://127.0.0.1:6379/0")},
	{"ONBOARD_REDIS_CA_FILE", "redis-ca-file", "PEM file of CAs to trust for rediss:// (default: the system's)", str(func(c *Config) *string { return &c.RedisCAFile }, "")},
	{"ONBOARD_CLOUD_ENDPOINT", "cloud-endpoint", "full URL of the Resource Manager API; http://127.0.0.1:PORT for a sandbox", str(func(c *Config) *string { return &c.CloudEndpoint }, "https://resourcemanager.aliyuncs.com")},
	{"ONBOARD_REGION", "region", "region ID sent with each call", str(func(c *Config) *string { return &c.Region }, "cn-hangzhou")},
	{"ONBOARD_SEND_QPS", "send-qps", "SendVerificationCode calls per second, across all workers", float(func(c *Config) *float64 { return &c.SendQPS }, 5)},
	{"ONBOARD_BIND_QPS", "bind-qps", "BindSecureMobilePhone calls per second, across all workers", float(func(c *Config) *float64 { return &c.BindQPS }, 10)},
	{"ONBOARD_GET_QPS", "get-qps", "GetAccount calls per second, across all workers", float(func(c *Config) *float64 { return &c.GetQPS }, 20)},
	{"ONBOARD_CONCURRENCY", "concurrency", "task handlers per worker process", integer(func(c *Config) *int { return &c.Concurrency }, 20)},
	{"ONBOARD_HTTP_ADDR", "http-addr", "listen address of the worker's HTTP server (empty: none)", str(func(c *Config) *string { return &c.HTTPAddr }, "127.0.0.1:8080")},
	{"ONBOARD_CALLBACK_TOKEN", "callback-token", "bearer token of the HTTP API; prefer the variable, a flag shows in ps (without it /v1/ answers 503)", str(func(c *Config) *string { return &c.CallbackToken }, "")},
	{"ONBOARD_MAX_SENDS", "max-sends", "codes sent to one member before it is expired", integer(func(c *Config) *int { return &c.MaxSends }, 3)},
	{"ONBOARD_MAX_CODE_ATTEMPTS", "max-code-attempts", "wrong codes accepted for one sent code", integer(func(c *Config) *int { return &c.MaxCodeAttempts }, 5)},
	{"ONBOARD_RECONCILE_CRON", "reconcile-cron", "schedule of reconciliation runs (cron, or @every 1m)", str(func(c *Config) *string { return &c.ReconcileCron }, "*/10 * * * *")},
	{"ONBOARD_LOG_FORMAT", "log-format", "log encoder: json or console (default json, console on a terminal)", str(func(c *Config) *string { return &c.LogFormat }, "")},
	{"ONBOARD_LOG_LEVEL", "log-level", "log level: debug, info, warn, error", str(func(c *Config) *string { return &c.LogLevel }, "info")},
	{"ONBOARD_CLOUD_TIMEOUT", "cloud-timeout", "time limit of one cloud call", duration(func(c *Config) *time.Duration { return &c.CloudTimeout }, 15*time.Second)},
	{"ONBOARD_POLL_INTERVAL", "poll-interval", "longest an idle worker waits for a task to be announced before it looks anyway (tasks from clients that do not announce wait up to this long)", duration(func(c *Config) *time.Duration { return &c.PollInterval }, time.Second)},
	{"ONBOARD_LINK_SECRET", "link-secret", "secret signing the self-service code links (at least 16 characters; without it links are off); prefer the variable", str(func(c *Config) *string { return &c.LinkSecret }, "")},
	{"ONBOARD_PUBLIC_URL", "public-url", "base URL of the worker's HTTP server as phone owners reach it, for the links (default http://ONBOARD_HTTP_ADDR)", str(func(c *Config) *string { return &c.PublicURL }, "")},
	{"ONBOARD_LIST_QPS", "list-qps", "ListAccounts calls per second, across all processes", float(func(c *Config) *float64 { return &c.ListQPS }, 10)},
	{"ONBOARD_SITE", "site", "Alibaba Cloud site of the organisation: china (only 86- numbers) or international (any country code but 86)", str(func(c *Config) *string { return &c.Site }, SiteChina)},
	{"ONBOARD_PHONE_GAP", "phone-gap", "least time between two SMS to the same phone", duration(func(c *Config) *time.Duration { return &c.PhoneGap }, 60*time.Second)},
	{"ONBOARD_SEND_WINDOW", "send-window", "local hours in which SMS may be sent, e.g. 09:00-21:00 (default any time)", str(func(c *Config) *string { return &c.SendWindow }, "")},
	{"ONBOARD_TIMEZONE", "timezone", "zone of the send window and of times shown to phone owners", str(func(c *Config) *string { return &c.Timezone }, "Asia/Shanghai")},
	{"ONBOARD_LOCALE", "locale", "language of owner pages and messages: zh-CN or en (a browser's Accept-Language wins on pages)", str(func(c *Config) *string { return &c.Locale }, "zh-CN")},
	{"ONBOARD_TLS_CERT", "tls-cert", "PEM certificate (chain): with --tls-key the worker serves HTTPS", str(func(c *Config) *string { return &c.TLSCert }, "")},
	{"ONBOARD_TLS_KEY", "tls-key", "PEM private key of --tls-cert", str(func(c *Config) *string { return &c.TLSKey }, "")},
	{"ONBOARD_SMTP_URL", "smtp-url", "SMTP server for owner emails: smtp://user:pass@host:587 (STARTTLS) or smtps://user:pass@host:465; prefer the variable", str(func(c *Config) *string { return &c.SMTPURL }, "")},
	{"ONBOARD_SMTP_FROM", "smtp-from", "sender address of owner emails", str(func(c *Config) *string { return &c.SMTPFrom }, "")},
	{"ONBOARD_SMTP_CA_FILE", "smtp-ca-file", "PEM file of CAs that sign the SMTP server's certificate (default: the system's)", str(func(c *Config) *string { return &c.SMTPCAFile }, "")},
	{"ONBOARD_NOTIFY_WEBHOOK", "notify-webhook", "URL that gets a signed JSON event per owner message", str(func(c *Config) *string { return &c.NotifyWebhook }, "")},
	{"ONBOARD_NOTIFY_SECRET", "notify-secret", "HMAC-SHA256 key of the webhook's X-Rdonboard-Signature; prefer the variable", str(func(c *Config) *string { return &c.NotifySecret }, "")},
	{"ONBOARD_NOTIFY_DINGTALK", "notify-dingtalk", "DingTalk custom robot webhook URL", str(func(c *Config) *string { return &c.NotifyDingTalk }, "")},
	{"ONBOARD_NOTIFY_DINGTALK_SECRET", "notify-dingtalk-secret", "signing secret of the DingTalk robot; prefer the variable", str(func(c *Config) *string { return &c.NotifyDingTalkSecret }, "")},
	{"ONBOARD_NOTIFY_FEISHU", "notify-feishu", "Feishu/Lark custom bot webhook URL", str(func(c *Config) *string { return &c.NotifyFeishu }, "")},
	{"ONBOARD_NOTIFY_FEISHU_SECRET", "notify-feishu-secret", "signing secret of the Feishu/Lark bot; prefer the variable", str(func(c *Config) *string { return &c.NotifyFeishuSecret }, "")},
	{"ONBOARD_NOTIFY_WECOM", "notify-wecom", "WeCom group robot webhook URL (its key is a secret: prefer the variable)", str(func(c *Config) *string { return &c.NotifyWeCom }, "")},
	{"ONBOARD_DASHBOARD_WRITABLE", "dashboard-writable", "let the /monitoring/ dashboard delete, run and pause (default read-only)", boolean(func(c *Config) *bool { return &c.DashboardWritable }, false)},
}

// Group names a set of settings a command uses.
type Group int

// The groups of settings.
const (
	// Producer: what `enqueue` needs: the connection, logs and the intake's
	// attempt limit.
	Producer Group = iota
	// Worker: everything.
	Worker
)

var producer = map[string]bool{"REDIS_URL": true, "ONBOARD_REDIS_CA_FILE": true, "ONBOARD_LOG_FORMAT": true,
	"ONBOARD_LOG_LEVEL": true, "ONBOARD_MAX_CODE_ATTEMPTS": true, "ONBOARD_SITE": true,
	// enqueue discover calls the cloud itself.
	"ONBOARD_CLOUD_ENDPOINT": true, "ONBOARD_REGION": true, "ONBOARD_GET_QPS": true, "ONBOARD_LIST_QPS": true,
	"ONBOARD_CLOUD_TIMEOUT": true}

// Register adds the flags of group g to fs with their built-in defaults.
// Call Resolve after parsing to apply the environment.
func (c *Config) Register(fs *pflag.FlagSet, g Group) {
	for _, st := range settingsOf(g) {
		st.kind.register(fs, c, st.flag, st.usage+" ($"+st.env+")")
	}
}

// Resolve applies the environment variables of group g to the flags not
// given on the command line. An unparsable variable is an error naming it.
// Values from the environment never appear in --help, so a token or a
// Redis password cannot leak through it.
func (c *Config) Resolve(fs *pflag.FlagSet, g Group) error {
	var errs []error
	for _, st := range settingsOf(g) {
		raw, ok := os.LookupEnv(st.env)
		if !ok || strings.TrimSpace(raw) == "" || fs.Changed(st.flag) {
			continue
		}
		if err := st.kind.parse(fs, st.flag, strings.TrimSpace(raw)); err != nil {
			errs = append(errs, fmt.Errorf("%s=%q: not a valid value", st.env, raw))
		}
	}
	return errors.Join(errs...)
}

func settingsOf(g Group) []setting {
	var out []setting
	for _, st := range settings {
		if g == Worker || producer[st.env] {
			out = append(out, st)
		}
	}
	return out
}

// Validate checks the settings of group g and names each bad one.
func (c *Config) Validate(g Group) error {
	var errs []error
	check := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	check(c.RedisURL != "", "REDIS_URL (--redis-url) is empty")
	check(c.LogFormat == "" || c.LogFormat == "json" || c.LogFormat == "console", "ONBOARD_LOG_FORMAT (--log-format) %q: want json or console", c.LogFormat)
	check(c.MaxCodeAttempts >= 1, "ONBOARD_MAX_CODE_ATTEMPTS (--max-code-attempts) must be at least 1, got %d", c.MaxCodeAttempts)
	check(c.Site == SiteChina || c.Site == SiteInternational, "ONBOARD_SITE (--site) %q: want %s or %s", c.Site, SiteChina, SiteInternational)
	u, err := url.Parse(c.CloudEndpoint)
	check(err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "", "ONBOARD_CLOUD_ENDPOINT (--cloud-endpoint) %q: want a full http(s):// URL", c.CloudEndpoint)
	check(c.Region != "", "ONBOARD_REGION (--region) is empty")
	check(c.GetQPS > 0, "ONBOARD_GET_QPS (--get-qps) must be above 0, got %g", c.GetQPS)
	check(c.ListQPS > 0, "ONBOARD_LIST_QPS (--list-qps) must be above 0, got %g", c.ListQPS)
	check(c.CloudTimeout >= time.Second, "ONBOARD_CLOUD_TIMEOUT (--cloud-timeout) must be at least 1s, got %s", c.CloudTimeout)
	if g == Producer {
		return errors.Join(errs...)
	}
	check(c.SendQPS > 0, "ONBOARD_SEND_QPS (--send-qps) must be above 0, got %g", c.SendQPS)
	check(c.BindQPS > 0, "ONBOARD_BIND_QPS (--bind-qps) must be above 0, got %g", c.BindQPS)
	check(c.Concurrency >= 1 && c.Concurrency <= 1000, "ONBOARD_CONCURRENCY (--concurrency) must be 1..1000, got %d", c.Concurrency)
	check(c.MaxSends >= 1, "ONBOARD_MAX_SENDS (--max-sends) must be at least 1, got %d", c.MaxSends)
	check(c.PollInterval >= time.Millisecond, "ONBOARD_POLL_INTERVAL (--poll-interval) must be at least 1ms, got %s", c.PollInterval)
	check(c.CallbackToken == "" || len(c.CallbackToken) >= MinSecretLen, "ONBOARD_CALLBACK_TOKEN (--callback-token) must be at least %d bytes", MinSecretLen)
	check(c.LinkSecret == "" || len(c.LinkSecret) >= MinSecretLen, "ONBOARD_LINK_SECRET (--link-secret) must be at least %d characters", MinSecretLen)
	pub, err := url.Parse(c.PublicURL)
	check(c.PublicURL == "" || (err == nil && (pub.Scheme == "https" || pub.Scheme == "http") && pub.Host != ""), "ONBOARD_PUBLIC_URL (--public-url) %q: want a full http(s):// URL", c.PublicURL)
	_, err = cron.ParseStandard(c.ReconcileCron)
	check(err == nil, "ONBOARD_RECONCILE_CRON (--reconcile-cron) %q: %v", c.ReconcileCron, err)
	errs = append(errs, c.validateOwners()...)
	errs = append(errs, c.validateNotify()...)
	return errors.Join(errs...)
}

// validateOwners checks what phone owners see and when they are sent SMS.
func (c *Config) validateOwners() []error {
	var errs []error
	check := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	check(c.PhoneGap >= 0, "ONBOARD_PHONE_GAP (--phone-gap) must not be negative, got %s", c.PhoneGap)
	loc, err := time.LoadLocation(c.Timezone)
	check(err == nil, "ONBOARD_TIMEZONE (--timezone) %q: not a time zone name such as Asia/Shanghai", c.Timezone)
	if err == nil {
		_, werr := sendwindow.Parse(c.SendWindow, loc)
		check(werr == nil, "ONBOARD_SEND_WINDOW (--send-window): %v", werr)
	}
	check(c.Locale == "zh-CN" || c.Locale == "en", "ONBOARD_LOCALE (--locale) %q: want zh-CN or en", c.Locale)
	check((c.TLSCert == "") == (c.TLSKey == ""), "ONBOARD_TLS_CERT and ONBOARD_TLS_KEY (--tls-cert, --tls-key) go together: one is set, the other is empty")
	return errs
}

// validateNotify checks the channels that tell phone owners.
func (c *Config) validateNotify() []error {
	var errs []error
	check := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	if c.SMTPURL != "" {
		u, err := url.Parse(c.SMTPURL)
		check(err == nil && (u.Scheme == "smtp" || u.Scheme == "smtps") && u.Hostname() != "",
			"ONBOARD_SMTP_URL (--smtp-url): want smtp://user:pass@host:587 or smtps://user:pass@host:465")
		check(c.SMTPFrom != "", "ONBOARD_SMTP_FROM (--smtp-from) is empty: owner emails need a sender address")
	}
	if c.SMTPCAFile != "" {
		_, err := os.Stat(c.SMTPCAFile)
		check(err == nil, "ONBOARD_SMTP_CA_FILE (--smtp-ca-file) %q: cannot be read", c.SMTPCAFile)
	}
	check(c.SMTPFrom == "" || strings.Contains(c.SMTPFrom, "@"), "ONBOARD_SMTP_FROM (--smtp-from) %q: not an email address", c.SMTPFrom)
	check(c.NotifyWebhook == "" || c.NotifySecret != "", "ONBOARD_NOTIFY_WEBHOOK is set without ONBOARD_NOTIFY_SECRET: the webhook's body must be signed")
	check(c.NotifyDingTalk == "" || c.NotifyDingTalkSecret != "", "ONBOARD_NOTIFY_DINGTALK is set without ONBOARD_NOTIFY_DINGTALK_SECRET: the robot needs its signing secret")
	check(c.NotifyFeishu == "" || c.NotifyFeishuSecret != "", "ONBOARD_NOTIFY_FEISHU is set without ONBOARD_NOTIFY_FEISHU_SECRET: the bot needs its signing secret")
	for _, h := range []struct{ env, raw string }{
		{"ONBOARD_NOTIFY_WEBHOOK", c.NotifyWebhook}, {"ONBOARD_NOTIFY_DINGTALK", c.NotifyDingTalk},
		{"ONBOARD_NOTIFY_FEISHU", c.NotifyFeishu}, {"ONBOARD_NOTIFY_WECOM", c.NotifyWeCom},
	} {
		check(h.raw == "" || secureURL(h.raw), "%s: want an https:// URL (http:// only to a loopback address)", h.env)
	}
	return errs
}

// secureURL reports whether raw is an https URL, or an http URL to a
// loopback address (a local receiver in a trial).
func secureURL(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return false
	}
	if u.Scheme == "https" {
		return true
	}
	if u.Scheme != "http" {
		return false
	}
	h := u.Hostname()
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// Location returns the zone of ONBOARD_TIMEZONE (UTC if it cannot be
// loaded; Validate reports that).
func (c *Config) Location() *time.Location {
	loc, err := time.LoadLocation(c.Timezone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// Window returns the parsed ONBOARD_SEND_WINDOW in Location (always open
// if it does not parse; Validate reports that).
func (c *Config) Window() sendwindow.Window {
	w, err := sendwindow.Parse(c.SendWindow, c.Location())
	if err != nil {
		return sendwindow.Always
	}
	return w
}

// flagKind returns the constructor of the kind of settings whose flag pflag
// parses itself: define is the FlagSet's method for the field's type, such
// as (*pflag.FlagSet).StringVar.
func flagKind[T any](define func(fs *pflag.FlagSet, p *T, flag string, def T, usage string)) func(field func(*Config) *T, def T) kind {
	return func(field func(*Config) *T, def T) kind {
		return kind{
			register: func(fs *pflag.FlagSet, c *Config, flag, usage string) { define(fs, field(c), flag, def, usage) },
			parse:    setFlag,
		}
	}
}

// The kinds of the settings, by the field's type.
var (
	str      = flagKind((*pflag.FlagSet).StringVar)
	float    = flagKind((*pflag.FlagSet).Float64Var)
	integer  = flagKind((*pflag.FlagSet).IntVar)
	boolean  = flagKind((*pflag.FlagSet).BoolVar)
	duration = flagKind((*pflag.FlagSet).DurationVar)
)

// setFlag parses raw with the flag's own parser.
func setFlag(fs *pflag.FlagSet, flag, raw string) error {
	return fs.Lookup(flag).Value.Set(raw)
}

// Defaults returns the built-in defaults of every setting, ignoring the
// environment.
func Defaults() Config {
	var c Config
	c.Register(pflag.NewFlagSet("defaults", pflag.ContinueOnError), Worker)
	return c
}
