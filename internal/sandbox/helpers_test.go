package sandbox_test

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	rdclock "github.com/rdonboard/rdonboard/internal/clock"
	"github.com/rdonboard/rdonboard/internal/sandbox"
	"github.com/rdonboard/rdonboard/internal/sandbox/sandboxtest"
)

const (
	member = "1386606283481234"
	phone  = "86-13900001234"
)

// clock is a sandbox clock the test moves by hand.
type clock = rdclock.Fake

func newClock(at time.Time) *clock { return rdclock.NewFake(at) }

// rig is a sandbox served over HTTP.
type rig struct {
	sb  *sandbox.Server
	srv *httptest.Server
}

func setup(t *testing.T, opts sandbox.Options) *rig {
	t.Helper()
	sb, srv := sandboxtest.Start(t, opts)
	return &rig{sb: sb, srv: srv}
}

// signed returns the query of a call as the v1 SDK sends it, signed with
// secret; edit changes parameters before signing.
func signed(action string, params map[string]string, secret string, edit ...func(url.Values)) url.Values {
	q := url.Values{
		"Action":           {action},
		"Version":          {"2020-03-31"},
		"Format":           {"JSON"},
		"Timestamp":        {time.Now().UTC().Format("2006-01-02T15:04:05Z")},
		"SignatureMethod":  {"HMAC-SHA1"},
		"SignatureVersion": {"1.0"},
		"SignatureType":    {""},
		"SignatureNonce":   {nonce()},
		"AccessKeyId":      {sandbox.DefaultAccessKeyID},
		"RegionId":         {"cn-hangzhou"},
	}
	for k, v := range params {
		q.Set(k, v)
	}
	for _, e := range edit {
		e(q)
	}
	q.Set("Signature", sandbox.Sign(sandbox.StringToSign(http.MethodPost, q), secret))
	return q
}

func nonce() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// reply is an answer of the sandbox.
type reply struct {
	status int
	body   map[string]any
}

// post sends q as the SDK does (POST, everything in the query) and decodes
// the JSON answer.
func (r *rig) post(t *testing.T, q url.Values) reply {
	t.Helper()
	resp, err := http.Post(r.srv.URL+"/?"+q.Encode(), "application/x-www-form-urlencoded", nil)
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("answer is not JSON: %v", err)
	}
	if id, _ := body["RequestId"].(string); !sandboxtest.RequestIDPattern.MatchString(id) {
		t.Errorf("answer without a request ID: %v", body)
	}
	return reply{resp.StatusCode, body}
}

// call makes a correctly signed call.
func (r *rig) call(t *testing.T, action string, params map[string]string) reply {
	t.Helper()
	return r.post(t, signed(action, params, sandbox.DefaultAccessKeySecret))
}

func (r *rig) send(t *testing.T, account, ph string) reply {
	t.Helper()
	return r.call(t, sandbox.ActionSendCode, map[string]string{"AccountId": account, "SecureMobilePhone": ph})
}

func (r *rig) bind(t *testing.T, account, ph, code string) reply {
	t.Helper()
	return r.call(t, sandbox.ActionBind, map[string]string{"AccountId": account, "SecureMobilePhone": ph, "VerificationCode": code})
}

func (r *rig) get(t *testing.T, account string) reply {
	t.Helper()
	return r.call(t, sandbox.ActionGetAccount, map[string]string{"AccountId": account})
}

// latestCode is the code the person would read off the phone.
func (r *rig) latestCode(t *testing.T, account string) string {
	t.Helper()
	code, ok := r.sb.LatestCode(account)
	if !ok {
		t.Fatalf("no SMS for %s", account)
	}
	return code
}

// wantOK checks a 200 answer.
func wantOK(t *testing.T, a reply) {
	t.Helper()
	if a.status != http.StatusOK {
		t.Fatalf("status %d %v, want 200", a.status, a.body)
	}
}

// wantErr checks an error answer in the cloud's format.
func wantErr(t *testing.T, a reply, status int, code string) {
	t.Helper()
	if a.status != status || a.body["Code"] != code {
		t.Fatalf("got %d %v, want %d %s", a.status, a.body, status, code)
	}
	for _, field := range []string{"HostId", "Message", "Recommend"} {
		if s, ok := a.body[field].(string); !ok || s == "" {
			t.Errorf("error answer lacks a string %s: %v", field, a.body)
		}
	}
}
