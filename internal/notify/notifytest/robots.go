package notifytest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Kind names the provider a Receiver plays.
type Kind string

// The providers.
const (
	Webhook  Kind = "webhook"
	DingTalk Kind = "dingtalk"
	Feishu   Kind = "feishu"
	WeCom    Kind = "wecom"
)

// Receiver is an HTTP endpoint that takes messages as one provider does:
// it checks the signature (DingTalk: timestamp and sign in the query;
// Feishu: in the body; webhook: X-Rdonboard-Signature) and answers a bad
// one, and a throttled request, with the provider's own codes.
type Receiver struct {
	// URL is the endpoint to configure.
	URL    string
	kind   Kind
	secret string
	now    func() time.Time

	mu        sync.Mutex
	accepted  [][]byte
	refused   int
	throttled int
	throttle  int
	arrived   chan struct{}
}

// StartReceiver starts a receiver of kind checking secret (unused for
// WeCom). now is the provider's clock for timestamp checks (nil: time.Now).
func StartReceiver(t testing.TB, kind Kind, secret string, now func() time.Time) *Receiver {
	t.Helper()
	if now == nil {
		now = time.Now
	}
	r := &Receiver{kind: kind, secret: secret, now: now, arrived: make(chan struct{}, 1024)}
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	r.URL = srv.URL + "/robot/send?access_token=tok-" + string(kind)
	switch kind {
	case Feishu:
		r.URL = srv.URL + "/open-apis/bot/v2/hook/hook-id"
	case WeCom:
		r.URL = srv.URL + "/cgi-bin/webhook/send?key=wecom-key"
	}
	return r
}

// ThrottleNext makes the next n well-signed requests get the provider's
// rate-limit answer.
func (r *Receiver) ThrottleNext(n int) {
	r.mu.Lock()
	r.throttle = n
	r.mu.Unlock()
}

// Accepted returns the bodies taken, in order.
func (r *Receiver) Accepted() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]byte(nil), r.accepted...)
}

// Counts returns how many requests were taken, refused for their signature,
// and throttled.
func (r *Receiver) Counts() (accepted, refused, throttled int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.accepted), r.refused, r.throttled
}

// Arrived is signalled once per message taken.
func (r *Receiver) Arrived() <-chan struct{} { return r.arrived }

// ServeHTTP takes one message.
func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	if !r.signed(req, body) {
		r.count(func() { r.refused++ })
		r.answer(w, r.answers().badSignature)
		return
	}
	r.mu.Lock()
	throttle := r.throttle > 0
	if throttle {
		r.throttle--
		r.throttled++
	}
	r.mu.Unlock()
	if throttle {
		r.answer(w, r.answers().tooFast)
		return
	}
	r.count(func() { r.accepted = append(r.accepted, body) })
	r.arrived <- struct{}{}
	r.answer(w, r.answers().ok)
}

func (r *Receiver) count(fn func()) {
	r.mu.Lock()
	fn()
	r.mu.Unlock()
}

// signed checks the request's signature as the provider does.
func (r *Receiver) signed(req *http.Request, body []byte) bool {
	switch r.kind {
	case Webhook:
		mac := hmac.New(sha256.New, []byte(r.secret))
		mac.Write(body)
		want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
		return hmac.Equal([]byte(req.Header.Get("X-Rdonboard-Signature")), []byte(want))
	case DingTalk:
		return r.dingTalkSigned(req)
	case Feishu:
		return r.feishuSigned(body)
	}
	return req.URL.Query().Get("key") != ""
}

// dingTalkSigned: timestamp in ms within an hour of now, and sign equal to
// base64(HMAC-SHA256(key=secret, timestamp+"\n"+secret)) once the query is
// decoded.
func (r *Receiver) dingTalkSigned(req *http.Request) bool {
	q := req.URL.Query()
	ts, err := strconv.ParseInt(q.Get("timestamp"), 10, 64)
	if err != nil || absDuration(r.now().Sub(time.UnixMilli(ts))) > time.Hour {
		return false
	}
	mac := hmac.New(sha256.New, []byte(r.secret))
	mac.Write([]byte(q.Get("timestamp") + "\n" + r.secret))
	return hmac.Equal([]byte(q.Get("sign")), []byte(base64.StdEncoding.EncodeToString(mac.Sum(nil))))
}

// feishuSigned: timestamp in seconds within an hour, sign equal to
// base64(HMAC-SHA256(key=timestamp+"\n"+secret, empty message)).
func (r *Receiver) feishuSigned(body []byte) bool {
	var b struct {
		Timestamp string `json:"timestamp"`
		Sign      string `json:"sign"`
	}
	if json.Unmarshal(body, &b) != nil {
		return false
	}
	ts, err := strconv.ParseInt(b.Timestamp, 10, 64)
	if err != nil || absDuration(r.now().Sub(time.Unix(ts, 0))) > time.Hour {
		return false
	}
	mac := hmac.New(sha256.New, []byte(b.Timestamp+"\n"+r.secret))
	return hmac.Equal([]byte(b.Sign), []byte(base64.StdEncoding.EncodeToString(mac.Sum(nil))))
}

func absDuration(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// reply is a provider's answer: HTTP status and JSON body.
type reply struct {
	status int
	body   map[string]any
}

func (r *Receiver) answer(w http.ResponseWriter, a reply) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(a.status)
	_ = json.NewEncoder(w).Encode(a.body)
}

// answers are a provider's replies: to a message taken, to a bad signature
// and to a message over the rate.
type answers struct {
	ok, badSignature, tooFast reply
}

// robotOK is how the DingTalk and WeCom robots take a message; the webhook
// receiver answers the same.
var robotOK = reply{200, map[string]any{"errcode": 0, "errmsg": "ok"}}

// providerAnswers holds each provider's answers, with its own codes.
var providerAnswers = map[Kind]answers{
	Webhook: {
		ok:           robotOK,
		badSignature: reply{401, map[string]any{"error": "bad signature"}},
		tooFast:      reply{429, map[string]any{"error": "slow down"}},
	},
	DingTalk: {
		ok:           robotOK,
		badSignature: reply{200, map[string]any{"errcode": 310000, "errmsg": "sign not match"}},
		tooFast:      reply{200, map[string]any{"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"}},
	},
	Feishu: {
		ok:           reply{200, map[string]any{"code": 0, "msg": "success", "data": map[string]any{}}},
		badSignature: reply{200, map[string]any{"code": 19021, "msg": "sign match fail or timestamp is not within one hour from current time"}},
		tooFast:      reply{200, map[string]any{"code": 11232, "msg": "frequency limited psm[lark.oapi.app_platform_runtime]appID[1]"}},
	},
	WeCom: {
		ok:           robotOK,
		badSignature: reply{200, map[string]any{"errcode": 93000, "errmsg": "invalid webhook url"}},
		tooFast:      reply{200, map[string]any{"errcode": 45009, "errmsg": "api freq out of limit"}},
	},
}

// answers returns the receiver's provider's answers; any other kind answers
// as WeCom, as signed checks it as WeCom.
func (r *Receiver) answers() answers {
	if a, ok := providerAnswers[r.kind]; ok {
		return a
	}
	return providerAnswers[WeCom]
}
