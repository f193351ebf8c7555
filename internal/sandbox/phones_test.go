package sandbox_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rdonboard/rdonboard/internal/sandbox"
)

// TestPhoneViewShowsOnlyCodesAndTimes: a phone's view, asked for in any
// spelling of the phone, lists its SMS newest last with only the code and
// the time, as the phone shows them; the accounts are nowhere in it.
func TestPhoneViewShowsOnlyCodesAndTimes(t *testing.T) {
	t.Parallel()
	const second = "1000000000000002"
	clk := newClock(time.Date(2024, 3, 1, 8, 0, 0, 0, time.UTC))
	r := setup(t, sandbox.Options{Now: clk.Now})
	wantOK(t, r.send(t, member, phone))
	first := r.latestCode(t, member)
	clk.Advance(2 * time.Second)
	wantOK(t, r.send(t, second, phone))
	wantOK(t, r.send(t, "1000000000000003", "86-13811112222"))

	resp, err := http.Get(r.srv.URL + "/sandbox/phones/" + url.PathEscape("+86 139 0000 1234") + "/sms")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var raw []map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&raw); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("phone view: %s %v", resp.Status, err)
	}
	want := []struct {
		code string
		at   time.Time
	}{{first, clk.Now().Add(-2 * time.Second)}, {r.latestCode(t, second), clk.Now()}}
	if len(raw) != len(want) {
		t.Fatalf("phone view %v, want %d SMS", raw, len(want))
	}
	for i, w := range want {
		keys := make([]string, 0, len(raw[i]))
		for k := range raw[i] {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		at, _ := time.Parse(time.RFC3339Nano, asString(raw[i]["sent_at"]))
		if !slices.Equal(keys, []string{"code", "sent_at"}) || raw[i]["code"] != w.code || !at.Equal(w.at) {
			t.Errorf("SMS %d of the view: %v, want only code %s and sent_at %s", i, raw[i], w.code, w.at)
		}
	}
	body, _ := json.Marshal(raw)
	if strings.Contains(string(body), member) || strings.Contains(string(body), second) {
		t.Errorf("the phone view names an account: %s", body)
	}
}

func asString(v any) string { s, _ := v.(string); return s }

// TestPhoneOverlapsCount: a send counts as an overlap only while another
// account's code for the same phone is live (not used, not expired); the
// shortest gap is taken over SMS to one phone, a resend included.
func TestPhoneOverlapsCount(t *testing.T) {
	t.Parallel()
	const a, b, c, d = "1000000000000011", "1000000000000012", "1000000000000013", "1000000000000014"
	clk := newClock(time.Date(2024, 3, 1, 8, 0, 0, 0, time.UTC))
	r := setup(t, sandbox.Options{Now: clk.Now, CodeTTL: 5 * time.Minute})
	wantOK(t, r.send(t, a, phone))
	clk.Advance(time.Second)
	wantOK(t, r.send(t, b, phone)) // a's code is live: an overlap
	wantOK(t, r.bind(t, b, phone, r.latestCode(t, b)))
	clk.Advance(3 * time.Second)
	wantOK(t, r.send(t, c, phone)) // b's code was used
	clk.Advance(6 * time.Minute)
	wantOK(t, r.send(t, d, phone)) // c's code expired
	clk.Advance(500 * time.Millisecond)
	wantOK(t, r.send(t, d, phone))            // d's own code again
	wantOK(t, r.send(t, a, "86-13811112222")) // another phone
	clk.Advance(700 * time.Millisecond)
	wantOK(t, r.send(t, "1000000000000015", phone)) // d's code is live: an overlap

	var st sandbox.Stats
	getJSON(t, r.srv.URL+"/sandbox/stats", &st)
	if st.PhoneOverlaps != 2 || st.MinPhoneGapMS != 500 {
		t.Errorf("phone_overlaps %d, min_phone_gap_ms %d; want 2 and 500 (the resend)", st.PhoneOverlaps, st.MinPhoneGapMS)
	}
}
