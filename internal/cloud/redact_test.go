package cloud_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"

	"github.com/rdonboard/rdonboard/internal/cloud"
	"github.com/rdonboard/rdonboard/internal/sandbox"
)

func TestRedact(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"POST /?AccessKeyId=LTAI5tAbCdEf123&Signature=abc%2Bdef%3D&SecureMobilePhone=86-13900001234&VerificationCode=482915&AccountId=1386606283481234",
			"POST /?AccessKeyId=***&Signature=***&SecureMobilePhone=86-139****1234&VerificationCode=***&AccountId=1386606283481234"},
		{"SecurityToken=CAIS%2Fabc%2Bdef&Action=Bind", "SecurityToken=***&Action=Bind"},
		{"string to sign is:POST&%2F&AccessKeyId%3Dmy-key%26SecureMobilePhone%3D86-13900001234%26VerificationCode%3D482915%26Version%3D2020",
			"string to sign is:POST&%2F&AccessKeyId%3D***%26SecureMobilePhone%3D86-139****1234%26VerificationCode%3D***%26Version%3D2020"},
		{`{"VerificationCode":"482915","SecureMobilePhone":"86-13900001234"}`,
			`{"VerificationCode":"***","SecureMobilePhone":"86-139****1234"}`},
		{"the VerificationCode is 482915", "the VerificationCode is ***"},
		{"phone +8613900001234 or 13900001234", "phone +86139****1234 or 139****1234"},
		{"encoded %2B8613900001234 and %2B86%2013900001234", "encoded %2B86139****1234 and %2B86%20139****1234"},
		{"twice %252B8613900001234", "twice %252B86139****1234"},
		{"spaced +86 139 0000 1234.", "spaced +86 139 **** 1234."},
		{"key LTAI5tAbCdEf1234567 leaked", "key LTAI*** leaked"},
		// Account IDs, request IDs and timestamps are not phones.
		{"account 1386606283481234 at 2021-12-17T07:38:41Z", "account 1386606283481234 at 2021-12-17T07:38:41Z"},
		{"SignatureNonce=3961d3cb17a1bac3&SignatureMethod=HMAC-SHA1", "SignatureNonce=3961d3cb17a1bac3&SignatureMethod=HMAC-SHA1"},
	}
	for _, tt := range tests {
		if got := cloud.Redact(tt.in); got != tt.want {
			t.Errorf("Redact(%q)\n got %q\nwant %q", tt.in, got, tt.want)
		}
	}
}

// secrets of the redaction tests: none may leave the client.
const (
	secretKeyID  = "rdonboard-test-key-id"
	secretSecret = "rdonboard-test-secret-Zq9"
	secretCode   = "482915"
	secretPhone  = "13977775555"
)

// recordingServer wraps h, keeping the signatures of the requests it sees.
type recordingServer struct {
	mu         sync.Mutex
	signatures []string
}

func (rs *recordingServer) wrap(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rs.mu.Lock()
		rs.signatures = append(rs.signatures, r.URL.Query().Get("Signature"))
		rs.mu.Unlock()
		h(w, r)
	})
}

func (rs *recordingServer) forbidden() []string {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	out := []string{secretKeyID, secretSecret, secretCode, secretPhone}
	for _, s := range rs.signatures {
		out = append(out, s, url.QueryEscape(s))
	}
	return out
}

// TestNoSecretLeavesTheClient drives real failures with a known AccessKey,
// phone and code, and looks for them in the error and in the log.
func TestNoSecretLeavesTheClient(t *testing.T) {
	t.Parallel()
	sb, err := sandbox.New(sandbox.Options{AccessKeyID: secretKeyID, AccessKeySecret: "the-server-secret"})
	if err != nil {
		t.Fatal(err)
	}
	drop := func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
	}
	tests := []struct {
		name    string
		handler http.HandlerFunc // nil: a refused port
		kind    cloud.Kind
	}{
		{"server error with the string to sign", sb.ServeHTTP, cloud.KindCallerWide},
		{"connection dropped after the request", drop, cloud.KindOutcomeUnknown},
		{"connection refused", nil, cloud.KindTransient},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rs := &recordingServer{}
			endpoint := "http://" + closedPort(t)
			if tt.handler != nil {
				srv := httptest.NewServer(rs.wrap(tt.handler))
				t.Cleanup(srv.Close)
				endpoint = srv.URL
			}
			logs := &zaptest.Buffer{}
			c := newClient(t, endpoint, func(c *cloud.Config) {
				c.AccessKeyID, c.AccessKeySecret = secretKeyID, secretSecret
				c.Logger = zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), logs, zap.DebugLevel))
			})
			_, err := c.Bind(context.Background(), member, "86-"+secretPhone, secretCode)
			if cloud.KindOf(err) != tt.kind {
				t.Fatalf("kind %s (%v), want %s", cloud.KindOf(err), err, tt.kind)
			}
			e, _ := cloud.AsError(err)
			if tt.handler != nil && len(rs.forbidden()) == 4 {
				t.Fatal("the server saw no request")
			}
			for _, secret := range rs.forbidden() {
				for where, text := range map[string]string{"error": err.Error(), "message": e.Message, "log": logs.String()} {
					if secret != "" && strings.Contains(text, secret) {
						t.Errorf("%s carries %q: %s", where, secret, text)
					}
				}
			}
			if !strings.Contains(logs.String(), "86-139****5555") {
				t.Errorf("log lacks the masked phone: %s", logs.String())
			}
		})
	}
}
