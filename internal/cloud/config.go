package cloud

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/rdonboard/rdonboard/internal/clock"
)

// Defaults of Config.
const (
	DefaultEndpoint       = "https://resourcemanager.aliyuncs.com"
	DefaultRegion         = "cn-hangzhou"
	DefaultConnectTimeout = 5 * time.Second
	DefaultReadTimeout    = 10 * time.Second
	DefaultPool           = 16
	// DefaultRoleSessionName names the STS session when RoleARN is set.
	DefaultRoleSessionName = "rdonboard"
)

// Config says where the SDK client calls Resource Directory and as whom.
// Credentials are taken, in order of precedence, from RoleARN (assumed with
// the AccessKey when one is given, else with the SDK's default chain), from
// AccessKeyID/AccessKeySecret (plus SecurityToken for STS), or from the
// SDK's default chain: ALIBABA_CLOUD_ACCESS_KEY_ID, _SECRET and
// _SECURITY_TOKEN, OIDC, the CLI profile, the credentials file, the ECS RAM
// role.
type Config struct {
	// Endpoint is the API's full URL; default DefaultEndpoint. The client
	// speaks HTTPS unless the URL's scheme is http (a sandbox).
	Endpoint string
	// Region is the RegionId sent with each call; default cn-hangzhou.
	Region string
	// AccessKeyID and AccessKeySecret are an explicit AccessKey; both or
	// neither.
	AccessKeyID     string
	AccessKeySecret string
	// SecurityToken makes the AccessKey an STS token.
	SecurityToken string
	// RoleARN, when set, is assumed through STS; RoleSessionName defaults
	// to DefaultRoleSessionName.
	RoleARN         string
	RoleSessionName string
	// ConnectTimeout bounds dialling and the TLS handshake; default 5s.
	ConnectTimeout time.Duration
	// ReadTimeout bounds a whole call, connect included; default 10s. A
	// ctx deadline that comes sooner wins.
	ReadTimeout time.Duration
	// Pool is how many SDK clients are kept, which bounds the calls in
	// flight at once; default 16.
	Pool int
	// Logger receives one debug entry per call (no secrets); default none.
	Logger *zap.Logger
	// Now is the clock of sent-at and retry-at stamps; default clock.Real.
	Now clock.Func
}

// endpoint is where requests go, in the SDK's terms.
type endpoint struct {
	// scheme is "HTTPS" or "HTTP", as the SDK spells it.
	scheme string
	// host is host[:port].
	host string
}

// url renders the endpoint for messages.
func (e endpoint) url() string {
	return strings.ToLower(e.scheme) + "://" + e.host
}

var regionPattern = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)

// withDefaults fills the zero fields of c.
func (c Config) withDefaults() Config {
	c.Endpoint = orDefault(c.Endpoint, DefaultEndpoint)
	c.Region = orDefault(c.Region, DefaultRegion)
	c.RoleSessionName = orDefault(c.RoleSessionName, DefaultRoleSessionName)
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = DefaultConnectTimeout
	}
	if c.ReadTimeout <= 0 {
		c.ReadTimeout = DefaultReadTimeout
	}
	if c.Pool <= 0 {
		c.Pool = DefaultPool
	}
	if c.Logger == nil {
		c.Logger = zap.NewNop()
	}
	return c
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// validate reports settings the SDK would reject later, or silently
// misuse.
func (c Config) validate() error {
	if !regionPattern.MatchString(c.Region) {
		return fmt.Errorf("region %q: only letters, digits, - and _", c.Region)
	}
	if (c.AccessKeyID == "") != (c.AccessKeySecret == "") {
		return errors.New("access key: give both the ID and the secret, or neither")
	}
	if c.SecurityToken != "" && c.AccessKeyID == "" {
		return errors.New("security token given without an access key")
	}
	return nil
}

// parseEndpoint turns a URL (or a bare host) into scheme and host. Only an
// explicit http:// gives plain HTTP: the SDK's own default is HTTP, which
// would send signed requests in clear to the real cloud.
func parseEndpoint(raw string) (endpoint, error) {
	if !strings.Contains(raw, "://") {
		raw = "https://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return endpoint{}, fmt.Errorf("endpoint: %w", err)
	}
	if u.Host == "" || u.User != nil || u.RawQuery != "" || (u.Path != "" && u.Path != "/") {
		return endpoint{}, fmt.Errorf("endpoint %q: want scheme://host[:port]", raw)
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
		return endpoint{scheme: "HTTPS", host: u.Host}, nil
	case "http":
		return endpoint{scheme: "HTTP", host: u.Host}, nil
	}
	return endpoint{}, fmt.Errorf("endpoint %q: scheme must be https or http", raw)
}
