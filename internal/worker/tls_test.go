package worker_test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rdonboard/rdonboard/internal/config"
	"github.com/rdonboard/rdonboard/internal/harness"
	"github.com/rdonboard/rdonboard/internal/ingest"
	"github.com/rdonboard/rdonboard/internal/localca"
	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/internal/redistest"
)

func TestMain(m *testing.M) { redistest.Main(m) }

// TestHTTPSWorker starts a worker with ONBOARD_TLS_CERT/KEY: it answers over
// TLS 1.2 or later only, and the owner links it hands out are https://.
func TestHTTPSWorker(t *testing.T) {
	t.Parallel()
	certFile, keyFile, pool := localCerts(t)
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

// localCerts writes a certificate for 127.0.0.1 and its key as PEM files,
// and returns them with a pool that trusts the CA that signed it.
func localCerts(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	f, err := localca.WriteFiles(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(f.CA)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AppendCertsFromPEM(raw)
	return f.Cert, f.Key, pool
}
