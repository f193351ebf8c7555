package cloud

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/http/httptrace"
	"sync"
	"sync/atomic"
	"time"
)

// call is what one SDK call leaves behind for its classification: whether
// the HTTP request was started and fully written, and the status of the
// answer. The SDK takes no context, so the transport below carries the
// caller's ctx into the request and watches it leave.
type call struct {
	ctx context.Context
	// started: the SDK reached the transport (credentials were resolved).
	started atomic.Bool
	// wrote: the request was written whole to the connection; from then on
	// the cloud may act on it whatever happens to the answer.
	wrote atomic.Bool
	// status is the HTTP status of the answer, 0 before one arrives.
	status atomic.Int32

	mu      sync.Mutex
	cleanup []func()
}

func newCall(ctx context.Context) *call {
	return &call{ctx: ctx}
}

// onCleanup registers f to run when the SDK call has returned.
func (c *call) onCleanup(f func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cleanup = append(c.cleanup, f)
}

// finish releases what the request held (context watchers).
func (c *call) finish() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, f := range c.cleanup {
		f()
	}
	c.cleanup = nil
}

// requestContext derives the request's context: cancelled by the SDK's own
// timeout (parent) or by the caller's ctx, and traced for WroteRequest.
func (c *call) requestContext(parent context.Context) context.Context {
	ctx, cancel := context.WithCancel(parent)
	stop := context.AfterFunc(c.ctx, cancel)
	c.onCleanup(func() { stop(); cancel() })
	trace := &httptrace.ClientTrace{WroteRequest: func(i httptrace.WroteRequestInfo) {
		if i.Err == nil {
			c.wrote.Store(true)
		}
	}}
	return httptrace.WithClientTrace(ctx, trace)
}

// callTransport is the RoundTripper of one pooled SDK client. It is not an
// *http.Transport on purpose: the SDK rewrites the dialer and TLS settings
// of an *http.Transport on every call, which would race on a shared one.
type callTransport struct {
	base    http.RoundTripper
	current atomic.Pointer[call]
}

// RoundTrip sends req under the current call's ctx.
func (t *callTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	c := t.current.Load()
	if c == nil {
		return t.base.RoundTrip(req)
	}
	c.started.Store(true)
	if err := c.ctx.Err(); err != nil {
		return nil, err
	}
	resp, err := t.base.RoundTrip(req.WithContext(c.requestContext(req.Context())))
	if resp != nil {
		c.status.Store(int32(resp.StatusCode))
	}
	return resp, err
}

// newBaseTransport is the one connection pool all SDK clients share. HTTP/2
// stays off: HTTP/1.1 reports exactly when a request was written.
func newBaseTransport(connectTimeout time.Duration, idle int) *http.Transport {
	d := &net.Dialer{Timeout: connectTimeout, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         d.DialContext,
		TLSHandshakeTimeout: connectTimeout,
		TLSClientConfig:     &tls.Config{MinVersion: tls.VersionTLS12},
		MaxIdleConns:        idle,
		MaxIdleConnsPerHost: idle,
		// Shorter than the server's keep-alive, so a request is rarely
		// written to a connection the server is closing (which would make
		// its outcome unknown).
		IdleConnTimeout: 30 * time.Second,
	}
}
