package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/rdonboard/rdonboard/internal/cli/clitest"
	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/internal/pause"
	"github.com/rdonboard/rdonboard/internal/redistest"
	"github.com/rdonboard/rdonboard/tasks"
)

func TestMain(m *testing.M) { clitest.Main(m) }

func runStatus(t *testing.T, url string, args ...string) (string, string, int) {
	t.Helper()
	r := clitest.Run(t, "worker", url, nil, append([]string{"status"}, args...)...)
	return r.Stdout, r.Stderr, r.Code
}

// seed admits members into two batches and moves some of them.
func seed(t *testing.T, url string) {
	t.Helper()
	opt, _ := redis.ParseURL(url)
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { rdb.Close() })
	s := member.New(rdb, member.Options{})
	ctx := context.Background()
	var cands []member.Candidate
	for i := 0; i < 6; i++ {
		batch := "alpha"
		if i >= 4 {
			batch = "beta"
		}
		cands = append(cands, member.Candidate{AccountID: fmt.Sprintf("100000000000000%d", i), Phone: fmt.Sprintf("86-1390000000%d", i), Batch: batch})
	}
	if _, err := s.Admit(ctx, cands, member.AdmitOptions{}); err != nil {
		t.Fatal(err)
	}
	moves := map[string]member.State{"1000000000000000": member.Bound, "1000000000000001": member.Failed, "1000000000000004": member.CodeSent}
	for id, to := range moves {
		mv := member.Move{From: []member.State{member.Pending}, To: to, Reason: "test"}
		if to == member.Failed {
			mv.Edits = []member.Edit{member.SetError("AccountTypeMismatch", "not a ResourceAccount")}
		}
		if _, err := s.Transition(ctx, id, mv); err != nil {
			t.Fatal(err)
		}
	}
	ctl := pause.New(rdb, member.DefaultPrefix, tasks.CloudQueues)
	if _, err := ctl.Pause(ctx, pause.Reason{Action: "BindSecureMobilePhone", Code: "Forbidden.RAM", Remedy: "grant the caller AliyunResourceDirectoryFullAccess"}); err != nil {
		t.Fatal(err)
	}
}

func TestStatusTableCountsStatesPerBatchAndShowsThePause(t *testing.T) {
	t.Parallel()
	url := redistest.URL(t)
	seed(t, url)
	out, stderr, code := runStatus(t, url)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	rows := map[string][]string{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) > 0 {
			rows[f[0]] = f
		}
	}
	// batch pending code_sent code_submitted bound already_bound failed expired total done
	want := map[string]string{
		"alpha": "alpha 2 0 0 1 0 1 0 0 4 50%",
		"beta":  "beta 1 1 0 0 0 0 0 0 2 0%",
		"all":   "all 3 1 0 1 0 1 0 0 6 33%",
	}
	for name, w := range want {
		if got := strings.Join(rows[name], " "); got != w {
			t.Errorf("row %s = %q, want %q\n%s", name, got, w, out)
		}
	}
	if !strings.Contains(out, "PAUSED") || !strings.Contains(out, "Forbidden.RAM") || !strings.Contains(out, "enqueue resume") {
		t.Errorf("the pause and what to do are not shown:\n%s", out)
	}
}

func TestStatusJSONAndCSVListMaskedMembers(t *testing.T) {
	t.Parallel()
	url := redistest.URL(t)
	seed(t, url)
	out, _, code := runStatus(t, url, "--format", "json", "--batch", "alpha")
	var views []member.View
	if err := json.Unmarshal([]byte(out), &views); err != nil || code != 0 {
		t.Fatalf("json output (exit %d) does not parse: %v\n%s", code, err, out)
	}
	if len(views) != 4 {
		t.Errorf("%d members in batch alpha, want 4", len(views))
	}
	for _, v := range views {
		if !strings.Contains(v.MobilePhone, "****") || v.Batch != "alpha" {
			t.Errorf("member %+v: phone not masked or wrong batch", v)
		}
	}
	out, _, _ = runStatus(t, url, "--format", "csv", "--state", "failed")
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || len(recs) != 2 {
		t.Fatalf("csv of failed members: %v, %d records\n%s", err, len(recs), out)
	}
	if recs[0][0] != "account_id" || recs[1][0] != "1000000000000001" || recs[1][7] != "AccountTypeMismatch" {
		t.Errorf("csv = %v", recs)
	}
	if strings.Contains(out, "13900000001") {
		t.Error("full phone number in csv output")
	}
	out, _, _ = runStatus(t, url, "--format", "json", "--state", "failed", "--reveal-phones")
	if !strings.Contains(out, "86-13900000001") {
		t.Errorf("--reveal-phones did not reveal:\n%s", out)
	}
}

func TestStatusRejectsBadFlags(t *testing.T) {
	t.Parallel()
	url := redistest.URL(t)
	if _, stderr, code := runStatus(t, url, "--format", "yaml"); code == 0 || !strings.Contains(stderr, "table, json or csv") {
		t.Errorf("--format yaml: exit %d, stderr %q", code, stderr)
	}
	if _, stderr, code := runStatus(t, url, "--state", "done"); code == 0 || !strings.Contains(stderr, "pending") {
		t.Errorf("--state done: exit %d, stderr %q (want the list of states)", code, stderr)
	}
}
