// Package sandbox is a local stand-in for Resource Directory: it answers
// SendVerificationCodeForBindSecureMobilePhone, BindSecureMobilePhone,
// GetAccount, ListAccounts and ListAccountsForParent in the cloud's wire
// format (RPC style, signature checked,
// JSON answers), "sends" codes by keeping them for /sandbox/sms, and
// misbehaves on request: quotas, throttling, latency, outages and errors
// per account (Faults). It serves the demo, the flow tests and benchmarks
// through the real SDK.
//
// Every account is a ResourceAccount without a phone unless a Directory or
// the faults say otherwise; the sandbox's state lives in memory only.
package sandbox

import (
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"go.uber.org/zap"
)

// Defaults of Options.
const (
	DefaultAccessKeyID     = "sandbox-ak-id"
	DefaultAccessKeySecret = "sandbox-ak-secret"
	DefaultCodeTTL         = 5 * time.Minute
	DefaultDailySendLimit  = 100
	// DefaultListQPS and DefaultListForParentQPS are the documented
	// quotas of ListAccounts and ListAccountsForParent.
	DefaultListQPS          = 20
	DefaultListForParentQPS = 50
)

// Action names as the API spells them.
const (
	ActionSendCode              = "SendVerificationCodeForBindSecureMobilePhone"
	ActionBind                  = "BindSecureMobilePhone"
	ActionGetAccount            = "GetAccount"
	ActionListAccounts          = "ListAccounts"
	ActionListAccountsForParent = "ListAccountsForParent"
)

var actions = []string{ActionSendCode, ActionBind, ActionGetAccount, ActionListAccounts, ActionListAccountsForParent}

// Sites the sandbox imitates (Options.Site).
const (
	SiteChina         = "china"
	SiteInternational = "international"
)

// Account types.
const (
	TypeResourceAccount = "ResourceAccount"
	TypeCloudAccount    = "CloudAccount"
)

// Options configures a Server.
type Options struct {
	// AccessKeyID and AccessKeySecret are the one AccessKey the sandbox
	// accepts; defaults sandbox-ak-id / sandbox-ak-secret.
	AccessKeyID     string
	AccessKeySecret string
	// SecurityToken, when set, must come with every call (an STS
	// AccessKey); when empty any token sent is ignored.
	SecurityToken string
	// SendQPS, BindQPS and GetQPS are the per-action quotas: a token bucket
	// of that rate and one second's worth of burst. 0 means unlimited.
	SendQPS, BindQPS, GetQPS float64
	// ListQPS and ListForParentQPS are the quotas of ListAccounts and
	// ListAccountsForParent, as the others; 0 means the documented
	// DefaultListQPS and DefaultListForParentQPS, negative unlimited.
	ListQPS, ListForParentQPS float64
	// Directory, when set, is the Resource Directory served: the listings,
	// and GetAccount's names, folders, types and phones; accounts outside
	// it do not exist. Without one, listings are empty and every account
	// exists.
	Directory *Directory
	// CodeTTL is how long a sent code stays valid; default 5m.
	CodeTTL time.Duration
	// DailySendLimit is how many codes one account may be sent per day
	// (00:00 UTC+8 to 00:00); default 100, negative for no limit.
	DailySendLimit int
	// Faults is the misbehaviour at start.
	Faults Faults
	// Site is the cloud site imitated: SiteChina (default) takes only
	// mainland 86- numbers, SiteInternational every country's mobile
	// numbers but 86-; each answers the other's numbers 409
	// InvalidParameter.MobileCountryCode.
	Site string
	// Now is the sandbox's clock for code expiry, daily limits, quotas and
	// outages; default time.Now. Request timestamps are checked against
	// the wall clock instead, so a test may move Now by days while the SDK
	// signs with the real time.
	Now func() time.Time
	// Logger receives a debug entry per call and an info entry per SMS,
	// with phones masked and never a code; default none.
	Logger *zap.Logger
	// OnCall, if set, is told of every API call answered (see Call); it is
	// called from the serving goroutines, so it must be safe for concurrent
	// use. Default none.
	OnCall func(Call)
}

// withDefaults fills the zero fields of o.
func (o Options) withDefaults() Options {
	if o.AccessKeyID == "" {
		o.AccessKeyID = DefaultAccessKeyID
	}
	if o.AccessKeySecret == "" {
		o.AccessKeySecret = DefaultAccessKeySecret
	}
	if o.CodeTTL <= 0 {
		o.CodeTTL = DefaultCodeTTL
	}
	if o.DailySendLimit == 0 {
		o.DailySendLimit = DefaultDailySendLimit
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Site == "" {
		o.Site = SiteChina
	}
	if o.ListQPS == 0 {
		o.ListQPS = DefaultListQPS
	}
	if o.ListForParentQPS == 0 {
		o.ListForParentQPS = DefaultListForParentQPS
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	return o
}

func (o Options) validate() error {
	if o.SendQPS < 0 || o.BindQPS < 0 || o.GetQPS < 0 {
		return errors.New("quotas must not be negative")
	}
	if o.Site != SiteChina && o.Site != SiteInternational {
		return fmt.Errorf("site %q: want %s or %s", o.Site, SiteChina, SiteInternational)
	}
	if o.Directory != nil {
		if err := o.Directory.Validate(); err != nil {
			return err
		}
	}
	return o.Faults.Validate()
}

// Server is the sandbox cloud, an http.Handler. Its methods are safe for
// concurrent use, also while it serves.
type Server struct {
	opts    Options
	log     *zap.Logger
	mux     *http.ServeMux
	started time.Time

	mu           sync.Mutex
	accounts     map[string]*account
	dir          *directory
	faults       Faults
	globalRules  []*rule
	throttleRate float64
	latency      time.Duration
	outage       outage
	buckets      map[string]*bucket
	nonces       nonceStore
	sms          []SMS
	stats        Stats
}

// outage is a period in which the API does not work.
type outage struct {
	mode  string
	until time.Time // zero: until ended
}

// Outage modes for SetOutage.
const (
	// Outage503 answers every call 503 ServiceUnavailable.
	Outage503 = "503"
	// OutageDrop closes every connection without an answer, after the
	// request was read.
	OutageDrop = "drop"
)

// New builds a sandbox.
func New(opts Options) (*Server, error) {
	opts = opts.withDefaults()
	if err := opts.validate(); err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	s := &Server{
		opts:     opts,
		log:      opts.Logger,
		started:  opts.Now(),
		accounts: map[string]*account{},
		buckets:  map[string]*bucket{},
		nonces:   nonceStore{seen: map[string]time.Time{}},
		sms:      []SMS{},
		stats:    newStats(),
	}
	if opts.Directory != nil {
		s.dir = newDirectory(opts.Directory)
	}
	s.setQuotas(map[string]float64{ActionSendCode: opts.SendQPS, ActionBind: opts.BindQPS, ActionGetAccount: opts.GetQPS,
		ActionListAccounts: max(opts.ListQPS, 0), ActionListAccountsForParent: max(opts.ListForParentQPS, 0)})
	s.SetFaults(opts.Faults)
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("GET /sandbox/sms", s.serveSMS)
	s.mux.HandleFunc("GET /sandbox/stats", s.serveStats)
	s.mux.HandleFunc("GET /sandbox/phones/{phone}/sms", s.servePhoneSMS)
	s.registerAdmin()
	s.mux.HandleFunc("/", s.serveAPI)
	return s, nil
}

// ServeHTTP answers the API at / and the sandbox's own routes under
// /sandbox/.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mux.ServeHTTP(w, r)
}

func (s *Server) setQuotas(qps map[string]float64) {
	for action, q := range qps {
		s.buckets[action] = newBucket(q, s.opts.Now())
	}
}

// SetFaults replaces the misbehaviour: global faults, and every account's
// faults (counters of transient and times start afresh). What happened
// stays: binds, sent codes, daily counts. f is not checked: call
// f.Validate first for faults that did not come from LoadFaults.
func (s *Server) SetFaults(f Faults) {
	f = f.clone()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = f
	s.globalRules = newRules(f.Errors)
	s.throttleRate = clamp01(f.ThrottleRate)
	s.latency = max(f.Latency, 0)
	for id, a := range s.accounts {
		a.setFault(f.Accounts[id])
	}
}

// SetAccount replaces one account's faults at run time.
func (s *Server) SetAccount(accountID string, a AccountFault) {
	a.Errors = append([]ErrorFault(nil), a.Errors...)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.Accounts[accountID] = a
	s.account(accountID).setFault(a)
}

// SetOutage starts an outage of mode Outage503 or OutageDrop for d (0: until
// ended), or ends one with mode "". Any other mode panics.
func (s *Server) SetOutage(mode string, d time.Duration) {
	if mode != "" && mode != Outage503 && mode != OutageDrop {
		panic(fmt.Sprintf("sandbox: unknown outage mode %q", mode))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.outage = outage{mode: mode}
	if mode != "" && d > 0 {
		s.outage.until = s.opts.Now().Add(d)
	}
}

// SetThrottleRate sets the fraction (0..1) of calls answered
// Throttling.User.
func (s *Server) SetThrottleRate(p float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.throttleRate = clamp01(p)
}

// SetLatency sets the delay added to every answer.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = max(d, 0)
}

// SetQuota sets action's quota in calls per second (0: unlimited), with a
// full bucket.
func (s *Server) SetQuota(action string, qps float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.setQuotas(map[string]float64{action: qps})
}

// BindDirect binds phone to the account behind the client's back, as an
// operator would in the console.
func (s *Server) BindDirect(accountID, phone string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.account(accountID).boundPhone = phone
}

// SMS returns the codes sent to phone (any spelling of the number), or all
// when phone is "", oldest first.
func (s *Server) SMS(phone string) []SMS {
	want := s.normalizePhone(phone)
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []SMS{}
	for _, m := range s.sms {
		if phone == "" || m.Phone == want {
			out = append(out, m)
		}
	}
	return out
}

// SMSFrom returns the SMS sent after the first n, oldest first: a reader
// that remembers how many it has seen reads only what is new.
func (s *Server) SMSFrom(n int) []SMS {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n >= len(s.sms) {
		return nil
	}
	return append([]SMS(nil), s.sms[n:]...)
}

// LatestCode returns the code of the last SMS sent for the account: what
// the person holding the phone would hand in.
func (s *Server) LatestCode(accountID string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.sms) - 1; i >= 0; i-- {
		if s.sms[i].AccountID == accountID {
			return s.sms[i].Code, true
		}
	}
	return "", false
}

// Stats returns a copy of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats.clone()
}

func clamp01(p float64) float64 {
	return min(max(p, 0), 1)
}
