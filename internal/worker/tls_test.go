package worker_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rdonboard/rdonboard/internal/config"
	"github.com/rdonboard/rdonboard/internal/harness"
	"github.com/rdonboard/rdonboard/internal/ingest"
	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/internal/redistest"
)

func TestMain(m *testing.M) { redistest.Main(m) }

// TestHTTPSWorker starts a worker with ONBOARD_TLS_CERT/KEY: it answers over
// TLS 1.2 or later only, and the owner links it hands out are https://.
func TestHTTPSWorker(t *testing.T) {
	t.Parallel()
	certFile, keyFile, pool := selfSigned(t)
	env := harness.Start(t, harness.Options{Configure: func(c *config.Config) {
		c.TLSCert, c.TLSKey = certFile, keyFile
		c.LinkSecret = "link-secret-for-tls-test-0123"
	}})
	addr := env.Worker(0).W.HTTPAddr()
	client := func(maxVersion uint16) *http.Client {
		return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: pool, MaxVersion: maxVersion}}}
	}

	resp, err := client(0).Get("https://" + addr + "/healthz")
	if err != nil {
		t.Fatalf("GET /healthz over https: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.TLS == nil || resp.TLS.Version < tls.VersionTLS12 {
		t.Errorf("/healthz: status %d, TLS %+v; want 200 over TLS 1.2+", resp.StatusCode, resp.TLS)
	}
	if _, err := client(tls.VersionTLS11).Get("https://" + addr + "/healthz"); err == nil {
		t.Error("a TLS 1.1 client was served")
	}
	// Go's TLS server answers a plain request with a bare 400.
	if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Error("plain HTTP was served beside HTTPS")
		}
	}

	row := harness.Members(1, 1)[0]
	env.Enqueue("tls", []harness.Row{row}, ingest.Options{})
	env.WaitFor(20*time.Second, func(c map[member.State]int64) bool { return c[member.CodeSent] == 1 })
	link := memberLink(t, client(0), addr, row.AccountID)
	if !strings.HasPrefix(link, "https://") {
		t.Errorf("owner link %q: want https://", link)
	}
}

func memberLink(t *testing.T, c *http.Client, addr, accountID string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "https://"+addr+"/v1/members/"+accountID+"/link", nil)
	req.Header.Set("Authorization", "Bearer "+harness.Token)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET link: %v", err)
	}
	defer resp.Body.Close()
	var body struct{ URL string }
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET link: status %d, %v", resp.StatusCode, err)
	}
	return body.URL
}

// selfSigned writes a certificate for 127.0.0.1 and its key as PEM files,
// and returns them with a pool that trusts the certificate.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "rdonboard test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writePEM(t, certFile, "CERTIFICATE", der)
	writePEM(t, keyFile, "EC PRIVATE KEY", kder)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}
