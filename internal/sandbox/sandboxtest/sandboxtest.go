// Package sandboxtest helps tests run against the sandbox cloud: it serves
// one for the test and knows the shape of the request IDs it answers with.
package sandboxtest

import (
	"net/http/httptest"
	"regexp"
	"testing"

	"github.com/rdonboard/rdonboard/internal/sandbox"
)

// RequestIDPattern is the shape of the request IDs the cloud answers with,
// and so the sandbox.
var RequestIDPattern = regexp.MustCompile(`^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$`)

// Start builds a sandbox with opts and serves it over plain HTTP until the
// test ends; the server's URL is the cloud endpoint to use.
func Start(t testing.TB, opts sandbox.Options) (*sandbox.Server, *httptest.Server) {
	t.Helper()
	sb, err := sandbox.New(opts)
	if err != nil {
		t.Fatalf("sandbox.New: %v", err)
	}
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	return sb, srv
}
