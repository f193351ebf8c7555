package cloud_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/rdonboard/rdonboard/internal/cloud"
	"github.com/rdonboard/rdonboard/internal/sandbox"
	"github.com/rdonboard/rdonboard/internal/sandbox/sandboxtest"
)

const (
	member = "1386606283481234"
	phone  = "86-13900001234"
)

// setup starts a sandbox with opts behind a real HTTP server and returns
// an SDK client pointed at it, with the sandbox's AccessKey; edit adjusts
// the client's config.
func setup(t *testing.T, opts sandbox.Options, edit ...func(*cloud.Config)) (*cloud.SDK, *sandbox.Server) {
	t.Helper()
	sb, srv := sandboxtest.Start(t, opts)
	return newClient(t, srv.URL, edit...), sb
}

// newClient returns an SDK client for endpoint with the sandbox's default
// AccessKey.
func newClient(t *testing.T, endpoint string, edit ...func(*cloud.Config)) *cloud.SDK {
	t.Helper()
	cfg := cloud.Config{
		Endpoint:        endpoint,
		AccessKeyID:     sandbox.DefaultAccessKeyID,
		AccessKeySecret: sandbox.DefaultAccessKeySecret,
		ReadTimeout:     5 * time.Second,
	}
	for _, e := range edit {
		e(&cfg)
	}
	c, err := cloud.New(cfg)
	if err != nil {
		t.Fatalf("cloud.New: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

// wantError checks that err is an *Error with kind and code.
func wantError(t *testing.T, err error, kind cloud.Kind, code string) *cloud.Error {
	t.Helper()
	e, ok := cloud.AsError(err)
	if !ok {
		t.Fatalf("error %v (%T) is not a *cloud.Error", err, err)
	}
	if e.Kind != kind || e.Code != code {
		t.Fatalf("got kind %s code %q (%v), want kind %s code %q", e.Kind, e.Code, e, kind, code)
	}
	return e
}

func TestSendBindAndGetAccount(t *testing.T) {
	t.Parallel()
	c, sb := setup(t, sandbox.Options{})
	ctx := context.Background()

	before, err := c.GetAccount(ctx, member)
	if err != nil {
		t.Fatalf("GetAccount: %v", err)
	}
	want := cloud.Account{AccountID: member, DisplayName: "member-" + member, FolderID: "fd-sandbox",
		ResourceDirectoryPath: "rd-sandbox/r-sandbox/fd-sandbox/" + member,
		Type:                  cloud.AccountTypeResource, Status: "CreateSuccess", RequestID: before.RequestID}
	if before != want || !sandboxtest.RequestIDPattern.MatchString(before.RequestID) {
		t.Fatalf("GetAccount before = %+v, want %+v with a request ID", before, want)
	}

	sent, err := c.SendCode(ctx, member, phone)
	if err != nil {
		t.Fatalf("SendCode: %v", err)
	}
	if !sandboxtest.RequestIDPattern.MatchString(sent.RequestID) {
		t.Errorf("SendCode request ID %q", sent.RequestID)
	}
	if d := time.Until(sent.ExpiresAt); d < 4*time.Minute || d > 5*time.Minute {
		t.Errorf("code expires in %v, want the sandbox's 5m", d)
	}

	code, _ := sb.LatestCode(member)
	bound, err := c.Bind(ctx, member, phone, code)
	if err != nil {
		t.Fatalf("Bind: %v", err)
	}
	if !sandboxtest.RequestIDPattern.MatchString(bound.RequestID) {
		t.Errorf("Bind request ID %q", bound.RequestID)
	}

	after, err := c.GetAccount(ctx, member)
	if err != nil || !after.HasSecureMobilePhone {
		t.Fatalf("GetAccount after bind = %+v, %v; want HasSecureMobilePhone", after, err)
	}
}

// call is one client action in a table.
type call func(ctx context.Context, c *cloud.SDK) error

func send(account, ph string) call {
	return func(ctx context.Context, c *cloud.SDK) error {
		_, err := c.SendCode(ctx, account, ph)
		return err
	}
}

func bind(account, ph, code string) call {
	return func(ctx context.Context, c *cloud.SDK) error {
		_, err := c.Bind(ctx, account, ph, code)
		return err
	}
}

func get(account string) call {
	return func(ctx context.Context, c *cloud.SDK) error {
		_, err := c.GetAccount(ctx, account)
		return err
	}
}

// injected is a sandbox answering every call for member with code.
func injected(code string, status int) sandbox.Options {
	return sandbox.Options{Faults: sandbox.Faults{Accounts: map[string]sandbox.AccountFault{
		member: {Errors: []sandbox.ErrorFault{{Code: code, Status: status}}},
	}}}
}

func account(f sandbox.AccountFault) sandbox.Options {
	return sandbox.Options{Faults: sandbox.Faults{Accounts: map[string]sandbox.AccountFault{member: f}}}
}

// TestErrorClassification drives every row of the README's error table through
// the real SDK and the sandbox over HTTP.
func TestErrorClassification(t *testing.T) {
	t.Parallel()
	wrongSecret := func(c *cloud.Config) { c.AccessKeySecret = "not-the-secret" }
	wrongKey := func(c *cloud.Config) { c.AccessKeyID = "unknown-key-id" }
	tests := []struct {
		name   string
		opts   sandbox.Options
		edit   []func(*cloud.Config)
		before call // run first, must succeed
		call   call
		kind   cloud.Kind
		code   string
		status int
	}{
		{name: "already bound", opts: account(sandbox.AccountFault{HasPhone: true}),
			call: bind(member, phone, "123456"), kind: cloud.KindDone, code: "AccountSecureMobileAlreadyExists", status: 409},
		{name: "already bound on send", opts: account(sandbox.AccountFault{HasPhone: true}),
			call: send(member, phone), kind: cloud.KindDone, code: "AccountSecureMobileAlreadyExists", status: 409},
		{name: "wrong code", before: send(member, phone),
			call: bind(member, phone, "0000000"), kind: cloud.KindMember, code: "Invalid.VerificationCode", status: 409},
		{name: "cloud account", opts: account(sandbox.AccountFault{Type: sandbox.TypeCloudAccount}),
			call: send(member, phone), kind: cloud.KindPermanent, code: "AccountTypeMismatch", status: 409},
		{name: "unknown account", opts: account(sandbox.AccountFault{Missing: true}),
			call: get(member), kind: cloud.KindPermanent, code: "EntityNotExists.Account", status: 404},
		{name: "another directory", opts: injected("NotSupport.AccountInAnotherResourceDirectory", 409),
			call: send(member, phone), kind: cloud.KindPermanent, code: "NotSupport.AccountInAnotherResourceDirectory", status: 409},
		{name: "foreign phone", call: send(member, "1-5551234567"),
			kind: cloud.KindPermanent, code: "InvalidParameter.MobileCountryCode", status: 409},
		{name: "account ID not digits", call: get("not-an-id"),
			kind: cloud.KindPermanent, code: "InvalidParameter.AccountId", status: 400},
		{name: "other 4xx", opts: injected("OperationDenied.AccountStatus", 409),
			call: bind(member, phone, "123456"), kind: cloud.KindPermanent, code: "OperationDenied.AccountStatus", status: 409},
		{name: "daily limit", opts: sandbox.Options{DailySendLimit: 1}, before: send(member, phone),
			call: send(member, phone), kind: cloud.KindDeferred, code: "SendValidateCodeExceedsLimitForAccount", status: 409},
		{name: "caller identity", opts: injected("CallerIdentityError", 409),
			call: send(member, phone), kind: cloud.KindCallerWide, code: "CallerIdentityError", status: 409},
		{name: "site", opts: injected("NotSupport.Site.Action", 400),
			call: send(member, phone), kind: cloud.KindCallerWide, code: "NotSupport.Site.Action", status: 400},
		{name: "enterprise name", opts: injected("Invalid.EnterpriseName", 409),
			call: bind(member, phone, "123456"), kind: cloud.KindCallerWide, code: "Invalid.EnterpriseName", status: 409},
		{name: "real-name verification", opts: injected("EnterpriseRealNameVerificationError", 409),
			call: send(member, phone), kind: cloud.KindCallerWide, code: "EnterpriseRealNameVerificationError", status: 409},
		{name: "RAM policy", opts: injected("Forbidden.RAM", 403),
			call: get(member), kind: cloud.KindCallerWide, code: "Forbidden.RAM", status: 403},
		{name: "expired STS token", opts: injected("InvalidSecurityToken.Expired", 400),
			call: get(member), kind: cloud.KindCallerWide, code: "InvalidSecurityToken.Expired", status: 400},
		{name: "unknown AccessKey", edit: []func(*cloud.Config){wrongKey},
			call: get(member), kind: cloud.KindCallerWide, code: "InvalidAccessKeyId.NotFound", status: 404},
		{name: "wrong secret", edit: []func(*cloud.Config){wrongSecret},
			call: send(member, phone), kind: cloud.KindCallerWide, code: "SignatureDoesNotMatch", status: 400},
		{name: "quota", opts: sandbox.Options{SendQPS: 1, Now: frozen()}, before: send(member, phone),
			call: send("1386606283481235", phone), kind: cloud.KindThrottled, code: "Throttling.User", status: 400},
		{name: "throttling 429", opts: injected("Throttling.Api", 429),
			call: bind(member, phone, "123456"), kind: cloud.KindThrottled, code: "Throttling.Api", status: 429},
		{name: "service unavailable", opts: account(sandbox.AccountFault{Transient: 1}),
			call: send(member, phone), kind: cloud.KindTransient, code: "ServiceUnavailable", status: 503},
		{name: "internal error", opts: injected("InternalError", 500),
			call: bind(member, phone, "123456"), kind: cloud.KindTransient, code: "InternalError", status: 500},
		{name: "other 5xx", opts: injected("GatewayTimeout", 504),
			call: get(member), kind: cloud.KindTransient, code: "GatewayTimeout", status: 504},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, _ := setup(t, tt.opts, tt.edit...)
			ctx := context.Background()
			if tt.before != nil {
				if err := tt.before(ctx, c); err != nil {
					t.Fatalf("first call: %v", err)
				}
			}
			e := wantError(t, tt.call(ctx, c), tt.kind, tt.code)
			if e.HTTPStatus != tt.status {
				t.Errorf("HTTP status %d, want %d", e.HTTPStatus, tt.status)
			}
			if !sandboxtest.RequestIDPattern.MatchString(e.RequestID) {
				t.Errorf("request ID %q, want the cloud's", e.RequestID)
			}
			if e.Message == "" {
				t.Error("no message")
			}
			if tt.kind == cloud.KindCallerWide && e.Remedy != cloud.Remedy(tt.code) {
				t.Errorf("remedy %q, want the table's %q", e.Remedy, cloud.Remedy(tt.code))
			}
			if tt.kind == cloud.KindThrottled && e.Remedy != "" {
				t.Errorf("a throttle carries remedy %q", e.Remedy)
			}
		})
	}
}

// frozen is a sandbox clock that never moves, so quotas never refill.
func frozen() func() time.Time {
	t := time.Now()
	return func() time.Time { return t }
}

func TestDailyLimitRetriesAtShanghaiMidnight(t *testing.T) {
	t.Parallel()
	c, _ := setup(t, sandbox.Options{DailySendLimit: 1})
	ctx := context.Background()
	if _, err := c.SendCode(ctx, member, phone); err != nil {
		t.Fatal(err)
	}
	_, err := c.SendCode(ctx, member, phone)
	e := wantError(t, err, cloud.KindDeferred, "SendValidateCodeExceedsLimitForAccount")
	if want := cloud.NextDailyReset(time.Now()); !e.RetryAt.Equal(want) {
		t.Errorf("RetryAt %v, want %v", e.RetryAt, want)
	}
}

// hangingServer reads each request and never answers until the test ends.
func hangingServer(t *testing.T) *httptest.Server {
	srv, _ := hangingServerSignal(t)
	return srv
}

// hangingServerSignal is hangingServer that also tells, on the channel it
// returns, of each request that reached it.
func hangingServerSignal(t *testing.T) (*httptest.Server, <-chan struct{}) {
	t.Helper()
	release := make(chan struct{})
	arrived := make(chan struct{}, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case arrived <- struct{}{}:
		default:
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(release); srv.Close() })
	return srv, arrived
}

func TestNoAnswerAfterSendingIsOutcomeUnknown(t *testing.T) {
	t.Parallel()
	srv := hangingServer(t)
	c := newClient(t, srv.URL, func(c *cloud.Config) { c.ReadTimeout = 300 * time.Millisecond })
	ctx := context.Background()

	wantError(t, send(member, phone)(ctx, c), cloud.KindOutcomeUnknown, cloud.CodeTimeout)
	wantError(t, bind(member, phone, "123456")(ctx, c), cloud.KindOutcomeUnknown, cloud.CodeTimeout)
	// A read has no effect to be unsure about.
	wantError(t, get(member)(ctx, c), cloud.KindTransient, cloud.CodeTimeout)
}

func TestDroppedConnectionIsOutcomeUnknown(t *testing.T) {
	t.Parallel()
	c, sb := setup(t, sandbox.Options{})
	sb.SetOutage(sandbox.OutageDrop, 0)
	wantError(t, send(member, phone)(context.Background(), c), cloud.KindOutcomeUnknown, cloud.CodeConnection)

	sb.SetOutage("", 0)
	if err := send(member, phone)(context.Background(), c); err != nil {
		t.Fatalf("after the outage: %v", err)
	}
}

func TestOutage503IsTransient(t *testing.T) {
	t.Parallel()
	c, sb := setup(t, sandbox.Options{})
	sb.SetOutage(sandbox.Outage503, 0)
	e := wantError(t, send(member, phone)(context.Background(), c), cloud.KindTransient, "ServiceUnavailable")
	if e.HTTPStatus != 503 {
		t.Errorf("HTTP status %d", e.HTTPStatus)
	}
}

// closedPort returns an address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestRefusedConnectionIsTransient(t *testing.T) {
	t.Parallel()
	c := newClient(t, "http://"+closedPort(t))
	// Nothing left: a send may safely be retried.
	e := wantError(t, send(member, phone)(context.Background(), c), cloud.KindTransient, cloud.CodeConnection)
	if e.HTTPStatus != 0 || e.RequestID != "" {
		t.Errorf("a failure without an answer has status %d, request %q", e.HTTPStatus, e.RequestID)
	}
}

func TestContextDeadlineBoundsTheCall(t *testing.T) {
	t.Parallel()
	srv := hangingServer(t)
	c := newClient(t, srv.URL, func(c *cloud.Config) { c.ReadTimeout = 30 * time.Second })
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()

	start := time.Now()
	err := send(member, phone)(ctx, c)
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("call took %v with a 200ms deadline", took)
	}
	wantError(t, err, cloud.KindOutcomeUnknown, cloud.CodeTimeout)
}

func TestCancelledContextSendsNothing(t *testing.T) {
	t.Parallel()
	c, sb := setup(t, sandbox.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	wantError(t, send(member, phone)(ctx, c), cloud.KindTransient, cloud.CodeCanceled)
	if n := len(sb.SMS("")); n != 0 {
		t.Errorf("%d SMS sent for a cancelled call", n)
	}
}

func TestCallerWaitingForThePoolHonoursContext(t *testing.T) {
	t.Parallel()
	srv, arrived := hangingServerSignal(t)
	c := newClient(t, srv.URL, func(c *cloud.Config) { c.Pool = 1 })
	busy := make(chan error, 1)
	go func() { busy <- get(member)(context.Background(), c) }()
	<-arrived // it holds the only client now

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	// It never got a client, so nothing was sent: transient, not unknown.
	wantError(t, send(member, phone)(ctx, c), cloud.KindTransient, cloud.CodeTimeout)
	c.Close()
	srv.CloseClientConnections()
	if err := <-busy; err == nil {
		t.Error("the hanging call succeeded")
	}
}

func TestHTTPSIsUsedUnlessTheURLSaysHTTP(t *testing.T) {
	t.Parallel()
	sb, err := sandbox.New(sandbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewTLSServer(sb)
	t.Cleanup(srv.Close)
	// The test server's certificate is not trusted: the TLS handshake is
	// what fails, which shows the client spoke HTTPS.
	e := wantError(t, get(member)(context.Background(), newClient(t, srv.URL)), cloud.KindCallerWide, cloud.CodeTLS)
	if e.HTTPStatus != 0 {
		t.Errorf("HTTP status %d", e.HTTPStatus)
	}
}

func TestSTSTokenIsSent(t *testing.T) {
	t.Parallel()
	opts := sandbox.Options{SecurityToken: "sts-token-for-test"}
	withToken := func(c *cloud.Config) { c.SecurityToken = "sts-token-for-test" }
	c, _ := setup(t, opts, withToken)
	if err := get(member)(context.Background(), c); err != nil {
		t.Fatalf("with the token: %v", err)
	}
	c, _ = setup(t, opts)
	wantError(t, get(member)(context.Background(), c), cloud.KindCallerWide, "MissingSecurityToken")
}

func TestDefaultCredentialChainReadsEnvironment(t *testing.T) {
	isolateCredentials(t)
	t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", sandbox.DefaultAccessKeyID)
	t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", sandbox.DefaultAccessKeySecret)
	c, _ := setup(t, sandbox.Options{}, func(c *cloud.Config) { c.AccessKeyID, c.AccessKeySecret = "", "" })
	if err := get(member)(context.Background(), c); err != nil {
		t.Fatalf("with credentials in the environment: %v", err)
	}
}

func TestNoCredentialsIsCallerWide(t *testing.T) {
	isolateCredentials(t)
	c, sb := setup(t, sandbox.Options{}, func(c *cloud.Config) { c.AccessKeyID, c.AccessKeySecret = "", "" })
	wantError(t, send(member, phone)(context.Background(), c), cloud.KindCallerWide, cloud.CodeNoCredentials)
	if n := len(sb.Stats().Calls); n != 0 {
		t.Errorf("the sandbox saw %d actions, want none", n)
	}
}

// isolateCredentials hides every credential source of the default chain:
// environment, CLI profile, credentials file and ECS metadata.
func isolateCredentials(t *testing.T) {
	t.Helper()
	for _, name := range []string{"ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
		"ALIBABA_CLOUD_SECURITY_TOKEN", "ALIBABA_CLOUD_ROLE_ARN", "ALIBABA_CLOUD_OIDC_PROVIDER_ARN",
		"ALIBABA_CLOUD_OIDC_TOKEN_FILE", "ALIBABA_CLOUD_CREDENTIALS_FILE", "ALIBABA_CLOUD_CREDENTIALS_URI",
		"ALIBABA_CLOUD_PROFILE", "ALIBABA_CLOUD_ECS_METADATA"} {
		t.Setenv(name, "")
	}
	t.Setenv("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")
	t.Setenv("HOME", t.TempDir())
}

func TestNewRejectsBadConfig(t *testing.T) {
	t.Parallel()
	tests := map[string]cloud.Config{
		"secret without ID":   {AccessKeySecret: "x"},
		"token without key":   {SecurityToken: "x"},
		"bad region":          {Region: "cn hangzhou", AccessKeyID: "a", AccessKeySecret: "b"},
		"endpoint with path":  {Endpoint: "https://example.com/api", AccessKeyID: "a", AccessKeySecret: "b"},
		"endpoint ftp scheme": {Endpoint: "ftp://example.com", AccessKeyID: "a", AccessKeySecret: "b"},
	}
	for name, cfg := range tests {
		if _, err := cloud.New(cfg); err == nil {
			t.Errorf("%s: New accepted %+v", name, cfg)
		}
	}
}

func TestErrorsAreNotUnwrappedToSDKErrors(t *testing.T) {
	t.Parallel()
	c := newClient(t, "http://"+closedPort(t))
	err := get(member)(context.Background(), c)
	// The URL-bearing *url.Error must not be reachable from the error.
	if errors.Unwrap(err) != nil {
		t.Errorf("error wraps %T", errors.Unwrap(err))
	}
}
