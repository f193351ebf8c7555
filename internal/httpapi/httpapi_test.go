package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/rdonboard/rdonboard/internal/config"
	"github.com/rdonboard/rdonboard/internal/harness"
	"github.com/rdonboard/rdonboard/internal/httpapi"
	"github.com/rdonboard/rdonboard/internal/ingest"
	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/internal/redistest"
	"github.com/rdonboard/rdonboard/internal/testwait"
	"github.com/rdonboard/rdonboard/tasks"
)

// call sends a request to the worker's API with token (none when empty).
func call(t *testing.T, method, url, token, body string) (int, map[string]any, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var obj map[string]any
	_ = json.Unmarshal(raw, &obj)
	return resp.StatusCode, obj, string(raw)
}

// setup runs one worker with two members: one pending, one waiting for a
// code.
func setup(t *testing.T) (*harness.Env, string) {
	t.Helper()
	env := harness.Start(t, harness.Options{Configure: func(c *config.Config) {
		c.MaxCodeAttempts = 2
		c.SendQPS = 0.001 // the first send goes now, the second waits
	}})
	env.Enqueue("api", harness.Members(0, 2), ingest.Options{})
	env.WaitFor(20*time.Second, func(c map[member.State]int64) bool { return c[member.CodeSent] == 1 })
	return env, env.Worker(0).URL
}

func waiting(t *testing.T, env *harness.Env) (waitingID, pendingID string) {
	t.Helper()
	for _, r := range harness.Members(0, 2) {
		m, err := env.Store.Get(context.Background(), r.AccountID)
		if err != nil {
			t.Fatal(err)
		}
		if m.State == member.CodeSent {
			waitingID = r.AccountID
		} else {
			pendingID = r.AccountID
		}
	}
	return waitingID, pendingID
}

func TestCodeIntakeAnswers(t *testing.T) {
	t.Parallel()
	env, url := setup(t)
	waitingID, pendingID := waiting(t, env)
	tok := harness.Token
	body := func(id, code string) string { return `{"account_id":"` + id + `","code":"` + code + `"}` }

	cases := []struct {
		name, token, body string
		want              int
	}{
		{"no token", "", body(waitingID, "123456"), 401},
		{"wrong token", "nope", body(waitingID, "123456"), 401},
		{"not JSON", tok, `account_id=1`, 400},
		{"five digits", tok, body(waitingID, "12345"), 400},
		{"letters in code", tok, body(waitingID, "12345a"), 400},
		{"letters in account", tok, body("12ab", "123456"), 400},
		{"unknown member", tok, body("1999999999999999", "123456"), 404},
		{"member not waiting", tok, body(pendingID, "123456"), 409},
		{"too large", tok, `{"account_id":"` + strings.Repeat("1", 5000) + `"}`, 413},
	}
	for _, tc := range cases {
		if got, _, raw := call(t, "POST", url+"/v1/codes", tc.token, tc.body); got != tc.want {
			t.Errorf("%s: HTTP %d (%s), want %d", tc.name, got, raw, tc.want)
		}
	}

	status, obj, raw := call(t, "POST", url+"/v1/codes", tok, body(waitingID, "000000"))
	if status != 202 || obj["account_id"] != waitingID || obj["state"] != "code_submitted" {
		t.Errorf("waiting member: HTTP %d %s, want 202 with state code_submitted", status, raw)
	}
	call(t, "POST", url+"/v1/codes", tok, body(waitingID, "000001"))
	if status, _, raw := call(t, "POST", url+"/v1/codes", tok, body(waitingID, "000002")); status != 429 {
		t.Errorf("third code with 2 attempts allowed: HTTP %d (%s), want 429", status, raw)
	}
}

func TestMemberLookups(t *testing.T) {
	t.Parallel()
	env, url := setup(t)
	waitingID, _ := waiting(t, env)

	status, obj, raw := call(t, "GET", url+"/v1/members/"+waitingID, harness.Token, "")
	if status != 200 || obj["state"] != "code_sent" || obj["batch"] != "api" {
		t.Fatalf("GET member: HTTP %d %s", status, raw)
	}
	if p, _ := obj["mobile_phone"].(string); !strings.Contains(p, "****") {
		t.Errorf("phone not masked: %s", raw)
	}
	for _, field := range []string{"account_id", "mobile_phone", "batch", "state", "sends", "code_attempts", "code_expires_at",
		"last_error_code", "last_error_message", "request_id", "updated_at"} {
		if _, ok := obj[field]; !ok {
			t.Errorf("member object lacks %q: %s", field, raw)
		}
	}
	if status, _, _ := call(t, "GET", url+"/v1/members/1999999999999999", harness.Token, ""); status != 404 {
		t.Errorf("unknown member: HTTP %d, want 404", status)
	}
	if status, _, _ := call(t, "GET", url+"/v1/members/"+waitingID, "", ""); status != 401 {
		t.Errorf("lookup without token: HTTP %d, want 401", status)
	}

	_, _, raw = call(t, "GET", url+"/v1/members?state=code_sent&batch=api", harness.Token, "")
	var list []member.View
	if err := json.Unmarshal([]byte(raw), &list); err != nil || len(list) != 1 || list[0].AccountID != waitingID {
		t.Errorf("list of code_sent members = %s (%v), want the one waiting member", raw, err)
	}
	_, _, raw = call(t, "GET", url+"/v1/members", harness.Token, "")
	if err := json.Unmarshal([]byte(raw), &list); err != nil || len(list) != 2 {
		t.Errorf("list of all members = %s (%v), want 2", raw, err)
	}
	if status, _, _ := call(t, "GET", url+"/v1/members?state=done", harness.Token, ""); status != 400 {
		t.Errorf("unknown state filter: HTTP %d, want 400", status)
	}
}

func TestHealthReadinessAndUnknownRoutes(t *testing.T) {
	t.Parallel()
	_, url := setup(t)
	for path, want := range map[string]int{"/healthz": 200, "/readyz": 200, "/v2/nothing": 404} {
		if status, _, _ := call(t, "GET", url+path, "", ""); status != want {
			t.Errorf("GET %s: HTTP %d, want %d", path, status, want)
		}
	}
}

func TestReadinessFollowsRedis(t *testing.T) {
	t.Parallel()
	rdb := redis.NewClient(&redis.Options{Addr: redistest.DownAddr(t), MaxRetries: -1})
	defer rdb.Close()
	srv := httptest.NewServer(httpapi.New(httpapi.Params{Redis: rdb, Token: "t"}))
	defer srv.Close()
	if status, _, _ := call(t, "GET", srv.URL+"/readyz", "", ""); status != 503 {
		t.Errorf("/readyz with Redis down: HTTP %d, want 503", status)
	}
	if status, _, _ := call(t, "GET", srv.URL+"/healthz", "", ""); status != 200 {
		t.Errorf("/healthz with Redis down: HTTP %d, want 200", status)
	}
}

func TestAPIWithoutTokenIsDisabled(t *testing.T) {
	t.Parallel()
	env := harness.Start(t, harness.Options{Configure: func(c *config.Config) { c.CallbackToken = "" }})
	for _, route := range []string{"POST /v1/codes", "GET /v1/members", "GET /v1/members/1"} {
		method, path, _ := strings.Cut(route, " ")
		if status, _, _ := call(t, method, env.Worker(0).URL+path, "anything", `{}`); status != 503 {
			t.Errorf("%s without a configured token: HTTP %d, want 503", route, status)
		}
	}
}

// TestCodeHandedInAgain: a client that did not see the answer to its code
// and hands the same code in again is told 202 with the member's state; the
// repeat costs no attempt and no second bind. Another code is still 409.
func TestCodeHandedInAgain(t *testing.T) {
	t.Parallel()
	env, url := setup(t)
	waitingID, _ := waiting(t, env)
	var code string
	for _, r := range harness.Members(0, 2) {
		if r.AccountID == waitingID {
			sms := env.Sandbox.SMS(r.Phone)
			if len(sms) != 1 {
				t.Fatalf("%d SMS to the waiting member, want 1", len(sms))
			}
			code = sms[0].Code
		}
	}
	body := `{"account_id":"` + waitingID + `","code":"` + code + `"}`
	if status, obj, raw := call(t, "POST", url+"/v1/codes", harness.Token, body); status != 202 || obj["state"] != "code_submitted" {
		t.Fatalf("code handed in: HTTP %d %s, want 202 code_submitted", status, raw)
	}
	env.WaitFor(20*time.Second, func(c map[member.State]int64) bool { return c[member.Bound] == 1 })

	if status, obj, raw := call(t, "POST", url+"/v1/codes", harness.Token, body); status != 202 || obj["state"] != "bound" {
		t.Errorf("same code again once bound: HTTP %d %s, want 202 bound", status, raw)
	}
	other := "000000"
	if code == other {
		other = "000001"
	}
	if status, _, raw := call(t, "POST", url+"/v1/codes", harness.Token,
		`{"account_id":"`+waitingID+`","code":"`+other+`"}`); status != 409 {
		t.Errorf("another code once bound: HTTP %d %s, want 409", status, raw)
	}
	m, err := env.Store.Get(context.Background(), waitingID)
	if err != nil {
		t.Fatal(err)
	}
	if m.CodeAttempts != 1 {
		t.Errorf("code_attempts %d after one code handed in twice, want 1", m.CodeAttempts)
	}
	// A second bind would come from one of the codes handed in above: wait
	// until their tasks, and any bind they queued, are done.
	insp := asynq.NewInspectorFromRedisClient(env.Redis)
	testwait.Until(t, 20*time.Second, "the callback and bind queues empty", func() bool {
		for _, q := range []string{tasks.QueueCallback, tasks.QueueBind} {
			info, err := insp.GetQueueInfo(q)
			if err != nil || info.Pending+info.Active+info.Scheduled+info.Retry > 0 {
				return false
			}
		}
		return true
	})
	if calls := env.Sandbox.Stats().Calls["BindSecureMobilePhone"]; calls["ok"] != 1 || len(calls) != 1 {
		t.Errorf("bind calls %v, want one, successful", calls)
	}
}
