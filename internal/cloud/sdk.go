package cloud

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth/credentials"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/resourcemanager"
	"go.uber.org/zap"

	"github.com/rdonboard/rdonboard/internal/clock"
)

// cancelGrace is how long a call whose ctx ended may take to notice before
// the caller stops waiting for it; the transport aborts at once, so this
// only matters while credentials are being fetched.
const cancelGrace = 200 * time.Millisecond

// SDK is the Client over the Alibaba Cloud Go SDK (v1). It is safe for
// concurrent use: the SDK client is not (it rewrites its http.Client on
// every call), so SDK keeps a pool of them and lends each to one call at a
// time.
type SDK struct {
	pool        chan *conn
	base        *http.Transport
	target      endpoint
	readTimeout time.Duration
	log         *zap.Logger
	now         clock.Func
	// secrets are the configured credentials, scrubbed from every message
	// on top of Redact's patterns.
	secrets []string
}

var _ Client = (*SDK)(nil)

// conn is one pooled SDK client and its transport.
type conn struct {
	rm *resourcemanager.Client
	rt *callTransport
}

// New builds the client. It makes no network call: bad credentials show on
// the first call, as a KindCallerWide error.
func New(cfg Config) (*SDK, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("cloud config: %w", err)
	}
	creds, err := newCredentials(cfg)
	if err != nil {
		return nil, fmt.Errorf("cloud credentials: %w", err)
	}
	return newSDK(cfg, creds)
}

// newSDK builds the client around creds; cfg has its defaults.
func newSDK(cfg Config, creds credentials.CredentialsProvider) (*SDK, error) {
	target, err := parseEndpoint(cfg.Endpoint)
	if err != nil {
		return nil, fmt.Errorf("cloud config: %w", err)
	}
	s := &SDK{
		pool:        make(chan *conn, cfg.Pool),
		base:        newBaseTransport(cfg.ConnectTimeout, cfg.Pool),
		target:      target,
		readTimeout: cfg.ReadTimeout,
		log:         cfg.Logger,
		now:         cfg.Now.Or(),
		secrets:     scrubbable(cfg.AccessKeyID, cfg.AccessKeySecret, cfg.SecurityToken),
	}
	if err := s.fillPool(cfg, creds); err != nil {
		return nil, err
	}
	return s, nil
}

// endpointMapOnce guards the SDK's lazily created global endpoint map,
// which NewClientWithOptions writes unguarded on first use: two clients
// built at once would race.
var endpointMapOnce sync.Once

// fillPool creates cfg.Pool SDK clients sharing creds and one transport.
func (s *SDK) fillPool(cfg Config, creds credentials.CredentialsProvider) error {
	endpointMapOnce.Do(func() { resourcemanager.GetEndpointMap() })
	for range cfg.Pool {
		rt := &callTransport{base: s.base}
		config := sdk.NewConfig().WithAutoRetry(false).WithScheme(s.target.scheme)
		config.Transport = rt
		rm, err := resourcemanager.NewClientWithOptions(cfg.Region, config, creds)
		if err != nil {
			return fmt.Errorf("cloud client: %w", err)
		}
		rm.Domain = s.target.host
		rm.SetConnectTimeout(cfg.ConnectTimeout)
		rm.SetReadTimeout(cfg.ReadTimeout)
		s.pool <- &conn{rm: rm, rt: rt}
	}
	return nil
}

// Close drops idle connections. Calls still running finish normally.
func (s *SDK) Close() {
	s.base.CloseIdleConnections()
}

// invoker runs one SDK action on a pooled client.
type invoker func(rm *resourcemanager.Client) error

// run performs one call: it lends a pooled client, bounds the request by
// ctx, and turns any failure into an *Error. sideEffects says whether the
// action changes anything in the cloud (a lost answer is then
// KindOutcomeUnknown; for a read it is merely transient).
func (s *SDK) run(ctx context.Context, action string, sideEffects bool, req *requests.RpcRequest, fn invoker) error {
	c, err := s.acquire(ctx)
	if err != nil {
		return s.contextError(action, err, false)
	}
	if err := s.prepare(ctx, req); err != nil {
		s.release(c)
		return s.contextError(action, err, false)
	}
	cl := newCall(ctx)
	done := make(chan error, 1)
	go func() {
		defer s.release(c)
		done <- invokeOn(c, cl, fn)
	}()
	err, abandoned := await(ctx, done)
	switch {
	case abandoned:
		return s.downgrade(s.contextError(action, ctx.Err(), cl.started.Load()), sideEffects)
	case err != nil:
		return s.downgrade(s.classify(action, err, cl), sideEffects)
	}
	return nil
}

// prepare points req at the endpoint and gives it the time left: the read
// timeout, or less when ctx's deadline comes sooner.
func (s *SDK) prepare(ctx context.Context, req *requests.RpcRequest) error {
	timeout := s.readTimeout
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < timeout {
		timeout = time.Until(dl)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if timeout <= 0 {
		return context.DeadlineExceeded
	}
	req.SetScheme(s.target.scheme)
	req.SetDomain(s.target.host)
	req.SetReadTimeout(timeout)
	return nil
}

// acquire takes a client from the pool, or gives up with ctx.
func (s *SDK) acquire(ctx context.Context) (*conn, error) {
	select {
	case c := <-s.pool:
		return c, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// release returns a client to the pool once its call has ended.
func (s *SDK) release(c *conn) {
	c.rt.current.Store(nil)
	s.pool <- c
}

// invokeOn runs fn on c within cl, turning an SDK panic (it panics on an
// error body whose Code is not a string) into an error.
func invokeOn(c *conn, cl *call, fn invoker) (err error) {
	c.rt.current.Store(cl)
	defer cl.finish()
	defer func() {
		if r := recover(); r != nil {
			err = sdkPanic{value: r}
		}
	}()
	return fn(c.rm)
}

// sdkPanic is an SDK panic caught during a call.
type sdkPanic struct{ value any }

func (p sdkPanic) Error() string {
	return fmt.Sprintf("SDK panicked on the response: %v", p.value)
}

// await waits for the call, or for ctx and then a short grace. abandoned
// means the call is still running; its client returns to the pool when it
// ends.
func await(ctx context.Context, done <-chan error) (err error, abandoned bool) {
	select {
	case err := <-done:
		return err, false
	case <-ctx.Done():
	}
	t := time.NewTimer(cancelGrace)
	defer t.Stop()
	select {
	case err := <-done:
		return err, false
	case <-t.C:
		return nil, true
	}
}

// downgrade turns an unknown outcome into a transient failure for an action
// without side effects: a read can simply be asked again.
func (s *SDK) downgrade(e *Error, sideEffects bool) *Error {
	if e.Kind == KindOutcomeUnknown && !sideEffects {
		e.Kind = KindTransient
	}
	return e
}

// scrubbable keeps the secrets long enough to be scrubbed literally without
// mangling ordinary words.
func scrubbable(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if len(s) >= 6 {
			out = append(out, s)
		}
	}
	return out
}
