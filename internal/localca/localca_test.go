package localca_test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net"
	"os"
	"testing"

	"github.com/rdonboard/rdonboard/internal/localca"
)

// TestServerIsTrustedThroughTheCAFile: a TLS server with the written
// certificate and key is trusted by a client that trusts only ca.pem, as
// 127.0.0.1 and as localhost, and by no client without it.
func TestServerIsTrustedThroughTheCAFile(t *testing.T) {
	t.Parallel()
	f, err := localca.WriteFiles(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.LoadX509KeyPair(f.Cert, f.Key)
	if err != nil {
		t.Fatalf("load the server pair: %v", err)
	}
	raw, err := os.ReadFile(f.CA)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(raw) {
		t.Fatalf("%s holds no PEM certificate", f.CA)
	}
	for _, path := range []string{f.CA, f.Cert, f.Key} {
		if info, err := os.Stat(path); err != nil || info.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v (%v), want 0600", path, info.Mode().Perm(), err)
		}
	}
	if b, _ := pem.Decode(raw); b == nil || b.Type != "CERTIFICATE" {
		t.Errorf("ca.pem is not a PEM certificate")
	}

	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.WriteString(c, "hello"); c.Close() }()
		}
	}()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	for _, host := range []string{"127.0.0.1", "localhost"} {
		c, err := tls.Dial("tcp", net.JoinHostPort("127.0.0.1", port), &tls.Config{RootCAs: pool, ServerName: host})
		if err != nil {
			t.Errorf("as %s: %v", host, err)
			continue
		}
		c.Close()
	}
	if c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: x509.NewCertPool(), ServerName: "127.0.0.1"}); err == nil {
		c.Close()
		t.Error("a client that does not trust the CA connected")
	}
}
