package web_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rdonboard/rdonboard/internal/cloud"
	"github.com/rdonboard/rdonboard/internal/harness"
	"github.com/rdonboard/rdonboard/internal/ingest"
	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/internal/pause"
	"github.com/rdonboard/rdonboard/internal/sandbox"
	"github.com/rdonboard/rdonboard/internal/web"
	"github.com/rdonboard/rdonboard/tasks"
)

// TestStatusPageShowsWhatNeedsAPerson: per batch counts, the failed members
// (capped, with the total), and a pause with its remedy, phones masked.
func TestStatusPageShowsWhatNeedsAPerson(t *testing.T) {
	t.Parallel()
	env, proc := start(t, nil)
	failing := harness.Members(200, web.AttentionCap+5)
	for _, r := range failing {
		env.Sandbox.SetAccount(r.AccountID, sandbox.AccountFault{Type: sandbox.TypeCloudAccount})
	}
	env.Enqueue("cloud-accounts", failing, ingest.Options{})
	env.Enqueue("ok", harness.Members(300, 3), ingest.Options{})
	env.WaitFor(30*time.Second, func(c map[member.State]int64) bool {
		return c[member.Failed] == int64(len(failing)) && c[member.CodeSent] == 3
	})
	p := pause.New(env.Redis, env.Store.Prefix(), tasks.CloudQueues)
	if _, err := p.Pause(context.Background(), pause.Reason{Action: cloud.ActionBind, Code: "Forbidden.RAM",
		Message: "User not authorized to operate on the specified resource.", Remedy: cloud.Remedy("Forbidden.RAM"), At: time.Now()}); err != nil {
		t.Fatal(err)
	}

	page := do(t, request{url: proc.URL + "/", header: bearer(harness.Token)})
	if page.status != 200 {
		t.Fatalf("status page: %d", page.status)
	}
	want := []string{
		`<meta http-equiv="refresh" content="10">`,
		"<td>cloud-accounts</td>", "<td>ok</td>", "<td>all batches</td>",
		"Queues paused", "Forbidden.RAM", cloud.Remedy("Forbidden.RAM"), "enqueue resume",
		fmt.Sprintf("Members that need a person (%d)", len(failing)),
		fmt.Sprintf("Showing %d of %d", web.AttentionCap, len(failing)),
		"AccountTypeMismatch",
	}
	for _, w := range want {
		if !strings.Contains(page.body, strings.ReplaceAll(w, "'", "&#39;")) {
			t.Errorf("status page lacks %q", w)
		}
	}
	if n := strings.Count(page.body, "<td class=\"text\">failed</td>"); n != web.AttentionCap {
		t.Errorf("status page lists %d failed members, want %d", n, web.AttentionCap)
	}
	// Which of them are shown depends on the order they failed in; each
	// one shown comes with its masked phone.
	shown := 0
	for _, r := range failing {
		if strings.Contains(page.body, r.AccountID) {
			shown++
			if masked := r.Phone[:6] + "****" + r.Phone[10:]; !strings.Contains(page.body, masked) {
				t.Errorf("member %s shown without its masked phone %s", r.AccountID, masked)
			}
		}
	}
	if shown != web.AttentionCap {
		t.Errorf("status page shows %d of the failing members, want %d", shown, web.AttentionCap)
	}
	if strings.Contains(page.body, failing[0].Phone[3:]) || strings.Contains(page.body, "ZgotmplZ") {
		t.Error("status page shows a full phone number or a value the template refused")
	}
}
