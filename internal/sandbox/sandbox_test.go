package sandbox_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rdonboard/rdonboard/internal/sandbox"
)

// TestSignatureMatchesDocumentedExample checks the signer against the
// example of Alibaba Cloud's RPC signature documentation.
func TestSignatureMatchesDocumentedExample(t *testing.T) {
	t.Parallel()
	params := url.Values{
		"AccessKeyId": {"testid"}, "Action": {"DescribeRegions"}, "Format": {"XML"},
		"SignatureMethod": {"HMAC-SHA1"}, "SignatureNonce": {"3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"},
		"SignatureVersion": {"1.0"}, "Timestamp": {"2016-02-23T12:46:24Z"}, "Version": {"2014-05-26"},
	}
	sts := sandbox.StringToSign(http.MethodGet, params)
	wantSTS := "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML%26SignatureMethod%3DHMAC-SHA1" +
		"%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf%26SignatureVersion%3D1.0" +
		"%26Timestamp%3D2016-02-23T12%253A46%253A24Z%26Version%3D2014-05-26"
	if sts != wantSTS {
		t.Errorf("string to sign\n got %s\nwant %s", sts, wantSTS)
	}
	if got := sandbox.Sign(sts, "testsecret"); got != "OLeaidS1JvxuMvnyHOwuJ+uX5qY=" {
		t.Errorf("signature %s", got)
	}
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	r := setup(t, sandbox.Options{})
	get := map[string]string{"AccountId": member}
	set := func(k, v string) func(url.Values) { return func(q url.Values) { q.Set(k, v) } }
	ago := func(d time.Duration) string { return time.Now().Add(-d).UTC().Format("2006-01-02T15:04:05Z") }
	tests := []struct {
		name   string
		query  url.Values
		status int
		code   string // "" for success
	}{
		{"correct", signed(sandbox.ActionGetAccount, get, sandbox.DefaultAccessKeySecret), 200, ""},
		{"wrong secret", signed(sandbox.ActionGetAccount, get, "wrong"), 400, "SignatureDoesNotMatch"},
		{"unknown key", signed(sandbox.ActionGetAccount, get, sandbox.DefaultAccessKeySecret, set("AccessKeyId", "nobody")),
			404, "InvalidAccessKeyId.NotFound"},
		{"timestamp 10 minutes old", signed(sandbox.ActionGetAccount, get, sandbox.DefaultAccessKeySecret, set("Timestamp", ago(10*time.Minute))),
			200, ""},
		{"timestamp 16 minutes old", signed(sandbox.ActionGetAccount, get, sandbox.DefaultAccessKeySecret, set("Timestamp", ago(16*time.Minute))),
			400, "InvalidTimeStamp.Expired"},
		{"timestamp 16 minutes ahead", signed(sandbox.ActionGetAccount, get, sandbox.DefaultAccessKeySecret, set("Timestamp", ago(-16*time.Minute))),
			400, "InvalidTimeStamp.Expired"},
		{"malformed timestamp", signed(sandbox.ActionGetAccount, get, sandbox.DefaultAccessKeySecret, set("Timestamp", "yesterday")),
			400, "InvalidTimeStamp.Format"},
		{"no signature", url.Values{"Action": {sandbox.ActionGetAccount}, "AccessKeyId": {sandbox.DefaultAccessKeyID}},
			400, "MissingSignature"},
		{"other version", signed(sandbox.ActionGetAccount, get, sandbox.DefaultAccessKeySecret, set("Version", "2016-11-11")),
			400, "InvalidVersion"},
		{"unknown action", signed("DeleteAccount", get, sandbox.DefaultAccessKeySecret), 404, "InvalidAction.NotFound"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := r.post(t, tt.query)
			if tt.code == "" {
				wantOK(t, a)
				return
			}
			wantErr(t, a, tt.status, tt.code)
		})
	}

	t.Run("tampered after signing", func(t *testing.T) {
		q := signed(sandbox.ActionGetAccount, get, sandbox.DefaultAccessKeySecret)
		q.Set("AccountId", "1386606283489999")
		a := r.post(t, q)
		wantErr(t, a, 400, "SignatureDoesNotMatch")
		// The SDK compares its own string to sign with this one.
		if msg := a.body["Message"].(string); !strings.Contains(msg, "server string to sign is:POST&%2F&") {
			t.Errorf("message %q lacks the string to sign", msg)
		}
	})
}

func TestReplayedNonceIsRefused(t *testing.T) {
	t.Parallel()
	r := setup(t, sandbox.Options{})
	q := signed(sandbox.ActionSendCode, map[string]string{"AccountId": member, "SecureMobilePhone": phone}, sandbox.DefaultAccessKeySecret)
	wantOK(t, r.post(t, q))
	wantErr(t, r.post(t, q), 400, "SignatureNonceUsed")
	if n := len(r.sb.SMS("")); n != 1 {
		t.Errorf("%d SMS sent, want 1: the replay must not send", n)
	}
}

func TestSendAnswersExpirationDate(t *testing.T) {
	t.Parallel()
	clk := newClock(time.Date(2024, 3, 1, 7, 38, 41, 747_000_000, time.UTC))
	r := setup(t, sandbox.Options{Now: clk.Now, CodeTTL: 10 * time.Minute})
	a := r.send(t, member, phone)
	wantOK(t, a)
	if got := a.body["ExpirationDate"]; got != "2024-03-01T07:48:41.747Z" {
		t.Errorf("ExpirationDate %v", got)
	}
	sms := r.sb.SMS(phone)
	if len(sms) != 1 || len(sms[0].Code) != 6 || sms[0].AccountID != member || !sms[0].ExpiresAt.Equal(clk.Now().Add(10*time.Minute)) {
		t.Errorf("SMS %+v", sms)
	}
}

func TestVerificationCodeRules(t *testing.T) {
	t.Parallel()
	const other = "86-13811112222"
	tests := []struct {
		name string
		// run sends and binds; it returns the final bind's answer.
		run    func(t *testing.T, r *rig, clk *clock) reply
		status int
		code   string
	}{
		{"valid until just before expiry", func(t *testing.T, r *rig, clk *clock) reply {
			r.send(t, member, phone)
			clk.Advance(5*time.Minute - time.Second)
			return r.bind(t, member, phone, r.latestCode(t, member))
		}, 200, ""},
		{"expired", func(t *testing.T, r *rig, clk *clock) reply {
			r.send(t, member, phone)
			clk.Advance(5 * time.Minute)
			return r.bind(t, member, phone, r.latestCode(t, member))
		}, 409, "Invalid.VerificationCode"},
		{"wrong code", func(t *testing.T, r *rig, clk *clock) reply {
			r.send(t, member, phone)
			return r.bind(t, member, phone, flip(r.latestCode(t, member)))
		}, 409, "Invalid.VerificationCode"},
		{"wrong code leaves the right one valid", func(t *testing.T, r *rig, clk *clock) reply {
			r.send(t, member, phone)
			r.bind(t, member, phone, flip(r.latestCode(t, member)))
			return r.bind(t, member, phone, r.latestCode(t, member))
		}, 200, ""},
		{"earlier code after a resend", func(t *testing.T, r *rig, clk *clock) reply {
			r.send(t, member, phone)
			first := r.latestCode(t, member)
			for r.latestCode(t, member) == first {
				r.send(t, member, phone)
			}
			return r.bind(t, member, phone, first)
		}, 409, "Invalid.VerificationCode"},
		{"other phone", func(t *testing.T, r *rig, clk *clock) reply {
			r.send(t, member, phone)
			return r.bind(t, member, other, r.latestCode(t, member))
		}, 409, "Invalid.VerificationCode"},
		{"other account's code", func(t *testing.T, r *rig, clk *clock) reply {
			r.send(t, "1386606283480000", phone)
			return r.bind(t, member, phone, r.latestCode(t, "1386606283480000"))
		}, 409, "Invalid.VerificationCode"},
		{"second bind", func(t *testing.T, r *rig, clk *clock) reply {
			r.send(t, member, phone)
			code := r.latestCode(t, member)
			wantOK(t, r.bind(t, member, phone, code))
			return r.bind(t, member, phone, code)
		}, 409, "AccountSecureMobileAlreadyExists"},
		{"send after bind", func(t *testing.T, r *rig, clk *clock) reply {
			r.send(t, member, phone)
			wantOK(t, r.bind(t, member, phone, r.latestCode(t, member)))
			return r.send(t, member, phone)
		}, 409, "AccountSecureMobileAlreadyExists"},
		{"foreign phone", func(t *testing.T, r *rig, clk *clock) reply {
			return r.send(t, member, "852-91234567")
		}, 409, "InvalidParameter.MobileCountryCode"},
		{"account ID not digits", func(t *testing.T, r *rig, clk *clock) reply {
			return r.send(t, "13866062834812ab", phone)
		}, 400, "InvalidParameter.AccountId"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clk := newClock(time.Now())
			r := setup(t, sandbox.Options{Now: clk.Now})
			a := tt.run(t, r, clk)
			if tt.code == "" {
				wantOK(t, a)
				return
			}
			wantErr(t, a, tt.status, tt.code)
		})
	}
}

// flip changes a code's last digit.
func flip(code string) string {
	last := (code[len(code)-1]-'0'+1)%10 + '0'
	return code[:len(code)-1] + string(rune(last))
}

func TestDailySendLimitResetsAtShanghaiMidnight(t *testing.T) {
	t.Parallel()
	// 15:59:00 UTC is 23:59:00 in Shanghai.
	clk := newClock(time.Date(2024, 3, 1, 15, 59, 0, 0, time.UTC))
	r := setup(t, sandbox.Options{Now: clk.Now, DailySendLimit: 2})
	wantOK(t, r.send(t, member, phone))
	wantOK(t, r.send(t, member, phone))
	wantErr(t, r.send(t, member, phone), 409, "SendValidateCodeExceedsLimitForAccount")
	// The limit is per account.
	wantOK(t, r.send(t, "1386606283480000", phone))

	clk.Advance(59 * time.Second)
	wantErr(t, r.send(t, member, phone), 409, "SendValidateCodeExceedsLimitForAccount")
	clk.Advance(time.Second)
	wantOK(t, r.send(t, member, phone))
}

func TestQuotaIsATokenBucketPerAction(t *testing.T) {
	t.Parallel()
	clk := newClock(time.Now())
	r := setup(t, sandbox.Options{Now: clk.Now, SendQPS: 2})
	accounts := []string{"1000000000000001", "1000000000000002", "1000000000000003", "1000000000000004"}

	// A full bucket holds one second's worth.
	wantOK(t, r.send(t, accounts[0], phone))
	wantOK(t, r.send(t, accounts[1], phone))
	a := r.send(t, accounts[2], phone)
	wantErr(t, a, 400, "Throttling.User")
	if a.body["Message"] != "Request was denied due to user flow control." {
		t.Errorf("message %v", a.body["Message"])
	}
	// Other actions have their own quota (unlimited here).
	wantOK(t, r.get(t, accounts[2]))

	// Half a second refills one call at 2/s.
	clk.Advance(500 * time.Millisecond)
	wantOK(t, r.send(t, accounts[2], phone))
	wantErr(t, r.send(t, accounts[3], phone), 400, "Throttling.User")

	if got := r.sb.Stats().QuotaRejections[sandbox.ActionSendCode]; got != 2 {
		t.Errorf("%d quota rejections, want 2", got)
	}
	r.sb.SetQuota(sandbox.ActionSendCode, 0)
	wantOK(t, r.send(t, accounts[3], phone))
}

func TestFaults(t *testing.T) {
	t.Parallel()
	only := func(code string, status, times int, action string) sandbox.Faults {
		return sandbox.Faults{Errors: []sandbox.ErrorFault{{Action: action, Code: code, Status: status, Times: times}}}
	}
	perAccount := func(f sandbox.AccountFault) sandbox.Faults {
		return sandbox.Faults{Accounts: map[string]sandbox.AccountFault{member: f}}
	}
	type answer struct {
		status int
		code   string
	}
	tests := []struct {
		name   string
		faults sandbox.Faults
		action func(t *testing.T, r *rig) reply
		want   []answer // successive answers
	}{
		{"transient N", perAccount(sandbox.AccountFault{Transient: 2}), getMember,
			[]answer{{503, "ServiceUnavailable"}, {503, "ServiceUnavailable"}, {200, ""}}},
		{"global error once", only("CallerIdentityError", 0, 1, ""), getMember,
			[]answer{{409, "CallerIdentityError"}, {200, ""}}},
		{"error limited to another action", only("Forbidden.RAM", 0, 0, sandbox.ActionBind), getMember,
			[]answer{{200, ""}, {200, ""}}},
		{"error with explicit status, always", only("NotSupport.Site.Action", 400, 0, sandbox.ActionGetAccount), getMember,
			[]answer{{400, "NotSupport.Site.Action"}, {400, "NotSupport.Site.Action"}}},
		{"account error", perAccount(sandbox.AccountFault{Errors: []sandbox.ErrorFault{{Code: "Forbidden.RAM"}}}), getMember,
			[]answer{{403, "Forbidden.RAM"}}},
		{"missing account", perAccount(sandbox.AccountFault{Missing: true}), getMember,
			[]answer{{404, "EntityNotExists.Account"}}},
		{"cloud account cannot be sent a code", perAccount(sandbox.AccountFault{Type: sandbox.TypeCloudAccount}), sendMember,
			[]answer{{409, "AccountTypeMismatch"}}},
		{"always throttled", sandbox.Faults{ThrottleRate: 1}, sendMember,
			[]answer{{400, "Throttling.User"}, {400, "Throttling.User"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := setup(t, sandbox.Options{Faults: tt.faults})
			for _, w := range tt.want {
				a := tt.action(t, r)
				if w.code == "" {
					wantOK(t, a)
					continue
				}
				wantErr(t, a, w.status, w.code)
			}
		})
	}
}

func getMember(t *testing.T, r *rig) reply { return r.get(t, member) }

func sendMember(t *testing.T, r *rig) reply { return r.send(t, member, phone) }

func TestGetAccountReportsTypeAndPhone(t *testing.T) {
	t.Parallel()
	r := setup(t, sandbox.Options{Faults: sandbox.Faults{Accounts: map[string]sandbox.AccountFault{
		"1000000000000001": {Type: sandbox.TypeCloudAccount},
		"1000000000000002": {HasPhone: true},
	}}})
	r.sb.BindDirect("1000000000000003", "86-13700000000")
	tests := []struct {
		account  string
		typ      string
		hasPhone bool
	}{
		{member, sandbox.TypeResourceAccount, false},
		{"1000000000000001", sandbox.TypeCloudAccount, false},
		{"1000000000000002", sandbox.TypeResourceAccount, true},
		{"1000000000000003", sandbox.TypeResourceAccount, true},
	}
	for _, tt := range tests {
		a := r.get(t, tt.account)
		wantOK(t, a)
		acc, _ := a.body["Account"].(map[string]any)
		if acc["AccountId"] != tt.account || acc["Type"] != tt.typ || acc["HasSecureMobilePhone"] != tt.hasPhone || acc["Status"] != "CreateSuccess" {
			t.Errorf("%s: Account %v, want type %s, phone %v", tt.account, acc, tt.typ, tt.hasPhone)
		}
	}
	wantErr(t, r.send(t, "1000000000000003", phone), 409, "AccountSecureMobileAlreadyExists")
}

func TestFaultsChangeAtRunTime(t *testing.T) {
	t.Parallel()
	r := setup(t, sandbox.Options{})
	wantOK(t, r.get(t, member))

	r.sb.SetAccount(member, sandbox.AccountFault{Missing: true})
	wantErr(t, r.get(t, member), 404, "EntityNotExists.Account")

	r.sb.SetFaults(sandbox.Faults{Errors: []sandbox.ErrorFault{{Code: "InternalError"}}})
	wantErr(t, r.get(t, member), 500, "InternalError")

	r.sb.SetFaults(sandbox.Faults{})
	wantOK(t, r.get(t, member))
	r.sb.SetThrottleRate(1)
	wantErr(t, r.get(t, member), 400, "Throttling.User")
}

func TestOutage(t *testing.T) {
	t.Parallel()
	clk := newClock(time.Now())
	r := setup(t, sandbox.Options{Now: clk.Now})

	r.sb.SetOutage(sandbox.Outage503, time.Minute)
	wantErr(t, r.get(t, member), 503, "ServiceUnavailable")
	clk.Advance(time.Minute)
	wantOK(t, r.get(t, member))

	r.sb.SetOutage(sandbox.OutageDrop, 0)
	q := signed(sandbox.ActionSendCode, map[string]string{"AccountId": member, "SecureMobilePhone": phone}, sandbox.DefaultAccessKeySecret)
	resp, err := http.Post(r.srv.URL+"/?"+q.Encode(), "", nil)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("got an answer (%s) during a drop outage", resp.Status)
	}
	if got := r.sb.Stats().Calls[sandbox.ActionSendCode]["dropped"]; got != 1 {
		t.Errorf("%d dropped calls counted, want 1", got)
	}
	r.sb.SetOutage("", 0)
	wantOK(t, r.get(t, member))
}

func TestLatencyDelaysTheAnswer(t *testing.T) {
	t.Parallel()
	r := setup(t, sandbox.Options{})
	r.sb.SetLatency(100 * time.Millisecond)
	start := time.Now()
	wantOK(t, r.get(t, member))
	if took := time.Since(start); took < 100*time.Millisecond {
		t.Errorf("answer came after %v, want at least the 100ms latency", took)
	}
}

func TestSMSAndStatsRoutes(t *testing.T) {
	t.Parallel()
	r := setup(t, sandbox.Options{})
	wantOK(t, r.send(t, member, phone))
	wantOK(t, r.send(t, "1000000000000001", "86-13811112222"))
	wantOK(t, r.bind(t, member, phone, r.latestCode(t, member)))
	r.bind(t, member, phone, "000000")

	var sms []map[string]any
	getJSON(t, r.srv.URL+"/sandbox/sms?phone="+url.QueryEscape("+86 139 0000 1234"), &sms)
	if len(sms) != 1 || sms[0]["account_id"] != member || sms[0]["phone"] != phone {
		t.Fatalf("sms for %s: %v", phone, sms)
	}
	for _, field := range []string{"code", "sent_at", "expires_at"} {
		if s, _ := sms[0][field].(string); s == "" {
			t.Errorf("SMS lacks %s: %v", field, sms[0])
		}
	}
	getJSON(t, r.srv.URL+"/sandbox/sms", &sms)
	if len(sms) != 2 || sms[1]["account_id"] != "1000000000000001" {
		t.Errorf("all SMS, newest last: %v", sms)
	}
	getJSON(t, r.srv.URL+"/sandbox/sms?phone=86-13000000000", &sms)
	if sms == nil || len(sms) != 0 {
		t.Errorf("no SMS must be an empty array, got %v", sms)
	}

	var st sandbox.Stats
	getJSON(t, r.srv.URL+"/sandbox/stats", &st)
	want := sandbox.Stats{
		Calls: map[string]map[string]int{
			sandbox.ActionSendCode: {"ok": 2},
			sandbox.ActionBind:     {"ok": 1, "AccountSecureMobileAlreadyExists": 1},
		},
		QuotaRejections: map[string]int{},
		Binds:           map[string]int{member: 1},
		SMSSent:         2,
	}
	if !equalStats(st, want) || !equalStats(r.sb.Stats(), want) {
		t.Errorf("stats %+v, want %+v", st, want)
	}
}

func getJSON(t *testing.T, u string, into any) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", u, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(into); err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
}

func equalStats(a, b sandbox.Stats) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func TestLoadFaults(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.json", `{
	  "throttle_rate": 0.05,
	  "latency": "20ms",
	  "errors": [{"action": "BindSecureMobilePhone", "code": "CallerIdentityError", "status": 409, "times": 1}],
	  "accounts": {
	    "1000000000000001": {"type": "CloudAccount"},
	    "1000000000000002": {"has_phone": true},
	    "1000000000000003": {"missing": true},
	    "1000000000000004": {"transient": 2},
	    "1000000000000005": {"errors": [{"code": "Forbidden.RAM", "status": 403}]}
	  }
	}`)
	f, err := sandbox.LoadFaults(good)
	if err != nil {
		t.Fatalf("LoadFaults: %v", err)
	}
	if f.ThrottleRate != 0.05 || f.Latency != 20*time.Millisecond || len(f.Errors) != 1 || f.Errors[0].Times != 1 ||
		f.Accounts["1000000000000001"].Type != sandbox.TypeCloudAccount || !f.Accounts["1000000000000002"].HasPhone ||
		!f.Accounts["1000000000000003"].Missing || f.Accounts["1000000000000004"].Transient != 2 ||
		f.Accounts["1000000000000005"].Errors[0].Status != 403 {
		t.Errorf("loaded %+v", f)
	}

	bad := map[string]string{
		"unknown field":    `{"throttle": 0.5}`,
		"rate above 1":     `{"throttle_rate": 2}`,
		"bad latency":      `{"latency": "soon"}`,
		"status below 400": `{"errors": [{"code": "X", "status": 200}]}`,
		"empty code":       `{"errors": [{"status": 409}]}`,
		"unknown action":   `{"errors": [{"action": "Bind", "code": "X"}]}`,
		"account ID":       `{"accounts": {"abc": {"missing": true}}}`,
		"account type":     `{"accounts": {"1": {"type": "Member"}}}`,
		"not JSON":         `accounts: {}`,
	}
	for name, text := range bad {
		if _, err := sandbox.LoadFaults(write(strings.ReplaceAll(name, " ", "_")+".json", text)); err == nil {
			t.Errorf("%s: LoadFaults accepted %s", name, text)
		}
	}
	if _, err := sandbox.LoadFaults(filepath.Join(dir, "absent.json")); err == nil {
		t.Error("LoadFaults accepted a missing file")
	}
}

func TestFaultsRoundTripAsJSON(t *testing.T) {
	t.Parallel()
	in := sandbox.Faults{Latency: 1500 * time.Millisecond, ThrottleRate: 0.1,
		Accounts: map[string]sandbox.AccountFault{"1": {Transient: 3}}}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"latency":"1.5s"`) {
		t.Errorf("latency not written as a duration: %s", b)
	}
	var out sandbox.Faults
	if err := json.Unmarshal(b, &out); err != nil || out.Latency != in.Latency || out.Accounts["1"].Transient != 3 {
		t.Errorf("round trip: %+v, %v", out, err)
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	t.Parallel()
	for name, opts := range map[string]sandbox.Options{
		"negative quota": {SendQPS: -1},
		"bad faults":     {Faults: sandbox.Faults{ThrottleRate: -0.1}},
	} {
		if _, err := sandbox.New(opts); err == nil {
			t.Errorf("%s: New accepted %+v", name, opts)
		}
	}
}

// TestConcurrentUse changes and reads the sandbox while it serves; run
// with -race.
func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	r := setup(t, sandbox.Options{SendQPS: 1000})
	var wg sync.WaitGroup
	for i := range 20 {
		account := "20000000000000" + string(rune('0'+i/10)) + string(rune('0'+i%10))
		wg.Go(func() {
			r.send(t, account, phone)
			r.get(t, account)
		})
	}
	wg.Go(func() {
		for range 20 {
			r.sb.SetFaults(sandbox.Faults{ThrottleRate: 0})
			r.sb.SetAccount(member, sandbox.AccountFault{Transient: 1})
			r.sb.SetLatency(0)
			r.sb.SetThrottleRate(0)
			r.sb.SetQuota(sandbox.ActionGetAccount, 1000)
			_ = r.sb.Stats()
			_ = r.sb.SMS("")
		}
	})
	wg.Wait()
	if st := r.sb.Stats(); st.SMSSent != 20 {
		t.Errorf("%d SMS sent, want 20", st.SMSSent)
	}
}

func TestSMSFromReadsOnlyWhatIsNew(t *testing.T) {
	t.Parallel()
	r := setup(t, sandbox.Options{})
	for _, acct := range []string{"1001", "1002", "1003"} {
		wantOK(t, r.send(t, acct, "86-1390000"+acct))
	}
	if got := r.sb.SMSFrom(1); len(got) != 2 || got[0].AccountID != "1002" || got[1].AccountID != "1003" {
		t.Errorf("SMSFrom(1) = %+v, want the SMS to 1002 and 1003", got)
	}
	if got := r.sb.SMSFrom(3); len(got) != 0 {
		t.Errorf("SMSFrom(3) = %+v, want none", got)
	}
}
