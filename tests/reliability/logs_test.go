package reliability

import (
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/internal/sandbox"
)

// TestLogsKeepSecrets runs a demo-sized batch (50 members, two workers,
// debug logs everywhere) with the untidy parts of a real run: wrong codes,
// codes handed in through `enqueue code`, cloud errors and dropped
// connections. The logs of every process (worker, enqueue, sandbox) hold
// no verification code, no full phone number, no bearer token and no
// AccessKey secret.
func TestLogsKeepSecrets(t *testing.T) {
	t.Parallel()
	rows := members(500, 50)
	faults := sandbox.Faults{Accounts: map[string]sandbox.AccountFault{
		rows[1].id: {Transient: 2},
		rows[2].id: {Errors: []sandbox.ErrorFault{{Action: sandbox.ActionBind, Code: "InternalError", Times: 1}}},
		rows[3].id: {Type: sandbox.TypeCloudAccount},
	}}
	r := newRig(t, rigOptions{
		Sandbox: []string{"--debug", "--faults", writeFaults(t, faults)},
		Env:     map[string]string{"ONBOARD_LOG_LEVEL": "debug", "ONBOARD_SEND_QPS": "20"},
	})
	w1, _ := r.startWorker(), r.startWorker()
	r.enqueueRows("demo", rows)
	r.cloud.Outage(t, sandbox.OutageDrop, 2*time.Second)

	exp := r.expiries()
	answered := map[string]bool{}
	r.waitFor(2*time.Minute, "every member terminal", terminal(int64(len(rows))), func() {
		exp.run()
		for i, s := range r.cloud.SMS(t) {
			if !answered[s.Code+s.AccountID] {
				answered[s.Code+s.AccountID] = handInSomehow(t, r, w1, i, s)
			}
		}
	})
	c, _ := r.counts()
	if c[member.Bound] != int64(len(rows)-1) || c[member.Failed] != 1 {
		t.Errorf("counts %v, want %d bound and the CloudAccount failed", c, len(rows)-1)
	}
	requireNoSecrets(t, r.allLogs(), r.cloud.SMS(t), rows)
}

// handInSomehow hands in the code of the i-th SMS: every third through
// `enqueue code`, the others over HTTP, a wrong code first every fifth.
// It reports whether the code was taken.
func handInSomehow(t *testing.T, r *rig, w *workerProc, i int, s sandbox.SMS) bool {
	if i%5 == 0 {
		handIn(t, w, s.AccountID, wrong(s.Code, i))
	}
	if i%3 == 0 {
		return r.enqueue("code", s.AccountID, s.Code).code == 0
	}
	return handIn(t, w, s.AccountID, s.Code) == http.StatusAccepted
}

// uuid matches request and task IDs, whose digits could pass for a code.
var uuid = regexp.MustCompile(`(?i)[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// requireNoSecrets checks logs for every code the cloud sent, every phone
// in its stored and national spelling, the bearer token and the AccessKey
// secret.
func requireNoSecrets(t *testing.T, logs string, sms []sandbox.SMS, rows []row) {
	t.Helper()
	if len(logs) < 10_000 || len(sms) < len(rows)-1 {
		t.Fatalf("only %d bytes of logs and %d SMS: the run did not happen", len(logs), len(sms))
	}
	for _, secret := range []string{token, sandbox.DefaultAccessKeySecret} {
		if strings.Contains(logs, secret) {
			t.Errorf("the logs hold the secret %.4s…", secret)
		}
	}
	digits := uuid.ReplaceAllString(logs, "<id>")
	for _, s := range sms {
		if containsNumber(digits, s.Code) {
			t.Errorf("the logs hold the code sent to account %s", s.AccountID)
		}
	}
	for _, row := range rows {
		national := strings.TrimPrefix(row.phone, "86-")
		if strings.Contains(logs, row.phone) || containsNumber(logs, national) {
			t.Errorf("the logs hold the full phone of account %s", row.id)
		}
	}
}

// containsNumber reports whether n occurs in s as a whole number, not as
// part of a longer run of digits.
func containsNumber(s, n string) bool {
	for from := 0; ; {
		i := strings.Index(s[from:], n)
		if i < 0 {
			return false
		}
		i += from
		end := i + len(n)
		if (i == 0 || !isDigit(s[i-1])) && (end == len(s) || !isDigit(s[end])) {
			return true
		}
		from = i + 1
	}
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

// writeFaults writes a sandbox faults file and returns its path.
func writeFaults(t *testing.T, f sandbox.Faults) string {
	t.Helper()
	b, err := f.MarshalJSON()
	if err != nil {
		t.Fatalf("faults: %v", err)
	}
	path := filepath.Join(t.TempDir(), "faults.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatalf("faults: %v", err)
	}
	return path
}
