package reliability

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/internal/testwait"
	"github.com/rdonboard/rdonboard/tasks"
)

// TestAccessNeedsToken calls the worker's API and queue dashboard without
// the bearer token, with a wrong one, and with other schemes: every call is
// refused with 401, and the right token opens each route.
func TestAccessNeedsToken(t *testing.T) {
	t.Parallel()
	r := newRig(t, rigOptions{})
	w := r.startWorker()
	id := members(0, 1)[0].id
	routes := []struct {
		method, path, body string
		open               int // the answer with the token
	}{
		{http.MethodPost, "/v1/codes", `{"account_id":"` + id + `","code":"123456"}`, http.StatusNotFound},
		{http.MethodGet, "/v1/members", "", http.StatusOK},
		{http.MethodGet, "/v1/members/" + id, "", http.StatusNotFound},
		{http.MethodGet, "/monitoring/", "", http.StatusOK},
	}
	auths := map[string]string{
		"no header":          "",
		"wrong token":        "Bearer not-the-token",
		"token as basic":     "Basic " + token,
		"token without type": token,
		"token prefix":       "Bearer " + token[:len(token)-1],
		"token with more":    "Bearer " + token + "x",
	}
	for i, rt := range routes {
		// Each route from an address of its own: the worker refuses an
		// address after 10 wrong tokens in all (TestLoginRefusesAnAddressThatGuesses).
		c := clientFrom(t, fmt.Sprintf("127.0.0.%d", 10+i))
		for name, auth := range auths {
			if status, _ := callFrom(t, c, w.URL, rt.method, rt.path, rt.body, auth); status != http.StatusUnauthorized {
				t.Errorf("%s %s with %s: %s, want 401", rt.method, rt.path, name, describe(status))
			}
		}
		if status, body := callFrom(t, c, w.URL, rt.method, rt.path, rt.body, "Bearer "+token); status != rt.open {
			t.Errorf("%s %s with the token: %s, want %d\n%.300s", rt.method, rt.path, describe(status), rt.open, body)
		}
	}
}

// call sends one request with the Authorization header auth (none if
// empty), as a script would (no Accept: text/html).
func call(t *testing.T, base, method, path, body, auth string) (int, string) {
	t.Helper()
	return callFrom(t, client, base, method, path, body, auth)
}

// callFrom is call through c.
func callFrom(t *testing.T, c *http.Client, base, method, path, body, auth string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	if err != nil {
		t.Fatalf("request: %v", err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return do(c, req)
}

// clientFrom is an HTTP client whose connections come from the loopback
// address ip.
func clientFrom(t *testing.T, ip string) *http.Client {
	t.Helper()
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	tr := &http.Transport{DialContext: dialer.DialContext}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// TestCodeGuessing hands in codes that are not a member's: guesses are
// refused with 429 once ONBOARD_MAX_CODE_ATTEMPTS were taken for one sent
// code, even the right code; another member's code does not bind; the
// member then gets a new code, and that one binds.
func TestCodeGuessing(t *testing.T) {
	t.Parallel()
	const attempts = 3
	r := newRig(t, rigOptions{Env: map[string]string{"ONBOARD_MAX_CODE_ATTEMPTS": fmt.Sprint(attempts)}})
	w := r.startWorker()
	rows := members(0, 2)
	victim, other := rows[0].id, rows[1].id
	r.enqueueRows("guess", rows)
	r.waitFor(time.Minute, "codes sent", func(c map[member.State]int64) bool { return c[member.CodeSent] == 2 }, nil)
	first := latestCode(t, r, victim)

	// Hold the codes on the callback queue so that every guess counts
	// against the same sent code.
	if err := r.insp.PauseQueue(tasks.QueueCallback); err != nil {
		t.Fatalf("pause callback queue: %v", err)
	}
	guesses := []string{latestCode(t, r, other)}
	for len(guesses) < attempts {
		guesses = append(guesses, wrong(first, len(guesses)))
	}
	for i, g := range guesses {
		if status := handIn(t, w, victim, g); status != http.StatusAccepted {
			t.Errorf("guess %d: %s, want 202 (attempts left)", i+1, describe(status))
		}
	}
	for _, g := range []string{wrong(first, 99), first} {
		if status := handIn(t, w, victim, g); status != http.StatusTooManyRequests {
			t.Errorf("a code after %d guesses: %s, want 429", attempts, describe(status))
		}
	}
	if err := r.insp.UnpauseQueue(tasks.QueueCallback); err != nil {
		t.Fatalf("unpause callback queue: %v", err)
	}

	// The guesses are checked in turn and fail; a new code is sent.
	waitSends(t, r, victim, 2)
	if n := r.cloud.Stats(t).Binds[victim]; n != 0 {
		t.Fatalf("guessed codes bound the member %d times", n)
	}
	if status := handIn(t, w, victim, latestCode(t, r, victim)); status != http.StatusAccepted {
		t.Errorf("the new code: %s, want 202", describe(status))
	}
	if status := handIn(t, w, other, latestCode(t, r, other)); status != http.StatusAccepted {
		t.Errorf("the other member's own code: %s, want 202", describe(status))
	}
	r.waitFor(time.Minute, "both bound", func(c map[member.State]int64) bool { return c[member.Bound] == 2 }, nil)
	r.requireAllBound(rows, 2)
}

// latestCode is the code of the last SMS the member got.
func latestCode(t *testing.T, r *rig, id string) string {
	t.Helper()
	var code string
	for _, s := range r.cloud.SMS(t) {
		if s.AccountID == id {
			code = s.Code
		}
	}
	if code == "" {
		t.Fatalf("no SMS for %s", id)
	}
	return code
}

// wrong returns a six-digit code other than right.
func wrong(right string, n int) string {
	for k := n; ; k++ {
		if c := fmt.Sprintf("%06d", (k*7919+13)%1_000_000); c != right {
			return c
		}
	}
}

func handIn(t *testing.T, w *workerProc, id, code string) int {
	t.Helper()
	status, _ := postJSON(t, w.URL+"/v1/codes", token, map[string]string{"account_id": id, "code": code})
	return status
}

// waitSends waits until the sandbox sent n SMS to the member.
func waitSends(t *testing.T, r *rig, id string, n int) {
	t.Helper()
	testwait.Until(t, time.Minute, fmt.Sprintf("%d SMS to member %s", n, id), func() bool { return r.smsPerAccount()[id] >= n })
}
