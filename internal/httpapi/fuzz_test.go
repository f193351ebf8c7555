package httpapi_test

import (
	"bytes"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/rdonboard/rdonboard/internal/redistest"
	"github.com/rdonboard/rdonboard/tasks"
)

// intakeAnswers are the answers POST /v1/codes may give while Redis is up.
var intakeAnswers = map[int]bool{
	http.StatusAccepted: true, http.StatusBadRequest: true, http.StatusUnauthorized: true,
	http.StatusNotFound: true, http.StatusConflict: true, http.StatusRequestEntityTooLarge: true,
	http.StatusTooManyRequests: true,
}

// FuzzCodeIntake sends arbitrary Authorization and Content-Type headers and
// bodies to POST /v1/codes over a real Redis holding a member waiting for a
// code. The handler never panics and never answers 5xx (Redis is up: see
// TestIntakeWithRedisDown for the 503), and every code it puts on the
// callback queue is well formed: six digits, for an account ID of digits,
// exactly the one a 202 answered for. The seed corpus is
// testdata/fuzz/FuzzCodeIntake.
func FuzzCodeIntake(f *testing.F) {
	tg := newTarget(f, redistest.DB(f), math.MaxInt32)
	f.Add("Bearer "+hostileToken, "application/json", []byte(`{"account_id":"`+hostileMember+`","code":"123456"}`))
	f.Fuzz(func(t *testing.T, auth, contentType string, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/v1/codes", bytes.NewReader(body))
		req.Header.Set("Authorization", auth)
		req.Header.Set("Content-Type", contentType)
		rec := httptest.NewRecorder()
		tg.api.ServeHTTP(rec, req)
		if !intakeAnswers[rec.Code] {
			t.Fatalf("answer %d %s", rec.Code, rec.Body)
		}
		queued := takeQueuedCodes(t, tg)
		switch {
		case rec.Code == http.StatusAccepted && len(queued) != 1:
			t.Fatalf("202, but %d codes queued", len(queued))
		case rec.Code != http.StatusAccepted && len(queued) != 0:
			t.Fatalf("answer %d, but %d codes queued", rec.Code, len(queued))
		}
		for _, p := range queued {
			if !tasks.ValidCode(p.Code) || !tasks.ValidAccountID(p.AccountID) {
				t.Fatalf("queued a malformed code: %+v", p)
			}
			var sent struct {
				AccountID string `json:"account_id"`
				Code      string `json:"code"`
			}
			if json.Unmarshal(body, &sent) != nil || sent.AccountID != p.AccountID || sent.Code != p.Code {
				t.Fatalf("queued %+v, not what the body said", p)
			}
		}
	})
}

// takeQueuedCodes returns the payloads on the callback queue and empties
// it.
func takeQueuedCodes(t *testing.T, tg *target) []tasks.CodeSubmittedPayload {
	t.Helper()
	list, err := tg.insp.ListPendingTasks(tasks.QueueCallback)
	if err != nil {
		return nil // the queue does not exist yet
	}
	var out []tasks.CodeSubmittedPayload
	for _, ti := range list {
		var p tasks.CodeSubmittedPayload
		if err := json.Unmarshal(ti.Payload, &p); err != nil {
			t.Fatalf("queued payload %q: %v", ti.Payload, err)
		}
		out = append(out, p)
	}
	if len(list) > 0 {
		if _, err := tg.insp.DeleteAllPendingTasks(tasks.QueueCallback); err != nil {
			t.Fatalf("empty callback queue: %v", err)
		}
	}
	return out
}
