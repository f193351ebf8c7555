package reliability

import (
	"net/http"
	"testing"
	"time"

	"github.com/rdonboard/rdonboard/internal/sandbox"
)

// TestSandboxAdmin steers a sandbox process through its admin routes: a
// bad body answers 400 and changes nothing; a good one answers 200 and
// takes effect at once (the fault tests rely on outages and throttling).
func TestSandboxAdmin(t *testing.T) {
	t.Parallel()
	sb := startSandbox(t)
	bad := []struct{ route, body string }{
		{"/sandbox/outage", `{"mode":"maybe"}`},
		{"/sandbox/outage", `{"mode":"503","for":"soon"}`},
		{"/sandbox/throttle", `{"rate":1.5}`},
		{"/sandbox/throttle", `{"rate":0.5,"extra":1}`},
		{"/sandbox/faults", `{"throttle_rate":2}`},
		{"/sandbox/faults", `{"accounts":{"12x":{"missing":true}}}`},
		{"/sandbox/faults", `not json`},
	}
	for _, b := range bad {
		if status, text := postJSON(t, sb.URL+b.route, "", b.body); status != http.StatusBadRequest {
			t.Errorf("POST %s %s: %s %s, want 400", b.route, b.body, describe(status), text)
		}
	}
	if n := len(sb.Stats(t).Calls); n != 0 {
		t.Errorf("bad admin calls reached the API: %v", sb.Stats(t).Calls)
	}
	sb.admin(t, "/sandbox/faults", `{"errors":[{"code":"InternalError","times":1}]}`)
	sb.Outage(t, sandbox.Outage503, time.Minute)
	if status, _ := postJSON(t, sb.URL+"/?Action=GetAccount", "", ""); status != http.StatusServiceUnavailable {
		t.Errorf("API call during an outage: %s, want 503", describe(status))
	}
	sb.Outage(t, "", 0)
	sb.Throttle(t, 0.5)
	if status, _ := postJSON(t, sb.URL+"/?Action=GetAccount", "", ""); status == http.StatusServiceUnavailable {
		t.Errorf("API call after the outage ended: still 503")
	}
}
