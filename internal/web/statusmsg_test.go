package web_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/hibiken/asynq"

	"github.com/rdonboard/rdonboard/internal/config"
	"github.com/rdonboard/rdonboard/internal/harness"
	"github.com/rdonboard/rdonboard/internal/ingest"
	"github.com/rdonboard/rdonboard/internal/notify/notifytest"
	"github.com/rdonboard/rdonboard/internal/reconcile"
	"github.com/rdonboard/rdonboard/internal/runlog"
	"github.com/rdonboard/rdonboard/internal/testwait"
)

// TestStatusPageShowsOwnerMessages: the operator sees, per phone, the
// latest message on each channel and how it ended: the email delivered,
// the DingTalk robot refusing a wrongly configured secret (failed for good,
// counted at the top), the phone masked and never in full.
func TestStatusPageShowsOwnerMessages(t *testing.T) {
	t.Parallel()
	mail := notifytest.StartSMTP(t, false)
	robot := notifytest.StartReceiver(t, notifytest.DingTalk, "SEC-the-robot-has", nil)
	env, proc := start(t, func(c *config.Config) {
		c.SMTPURL, c.SMTPFrom, c.SMTPCAFile = mail.URL(), "onboard@example.com", mail.CAFile
		c.NotifyDingTalk, c.NotifyDingTalkSecret = robot.URL, "SEC-the-operator-typed"
	})
	rows := harness.Members(9400, 1)
	rows[0].Email, rows[0].Name = "owner@example.com", "prod-status"
	env.Enqueue("told", rows, ingest.Options{})

	masked := rows[0].Phone[:6] + "****" + rows[0].Phone[10:]
	var page answer
	var section string
	testwait.Until(t, 30*time.Second, "both messages on the status page", func() bool {
		page = do(t, request{url: proc.URL + "/", header: bearer(harness.Token)})
		section = sectionOf(page.body, "owners")
		return strings.Contains(section, `<td class="text">delivered</td>`) && strings.Contains(section, `<td class="text">failed</td>`)
	})
	for _, want := range []string{"Messages to phone owners", masked, "<td class=\"text\">email</td>", "<td class=\"text\">dingtalk</td>",
		"<td class=\"text\">owner_link</td>", "<strong>1</strong> latest message(s) failed for good", "310000"} {
		if !strings.Contains(section, want) {
			t.Errorf("owner messages section lacks %q:\n%s", want, section)
		}
	}
	if strings.Contains(page.body, rows[0].Phone[3:]) || strings.Contains(page.body, "SEC-") {
		t.Errorf("status page shows a full phone number or a secret:\n%s", section)
	}

	ctx := newBrowser(t)
	step(t, ctx, "log in", chromedp.Navigate(proc.URL+"/"), chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), harness.Token), chromedp.Submit(chromedp.ID("token")),
		chromedp.WaitVisible(chromedp.ID("owners")))
	if text := textOf(t, ctx); !strings.Contains(text, "1 latest message(s) failed for good") || !strings.Contains(text, masked) {
		t.Errorf("status page in the browser lacks the failed count or the masked phone:\n%s", text)
	}
	shot(t, ctx, outDir(t), "status-owner-messages")
}

// sectionOf is the status page's section of that id, "" if none.
func sectionOf(body, id string) string {
	i := strings.Index(body, `id="`+id+`"`)
	if i < 0 {
		return ""
	}
	s := body[i:]
	return s[:strings.Index(s, "</section>")]
}

// TestStatusPageShowsReconciliationRuns: a run asked for with `enqueue
// reconcile` appears on the status page with its outcome and repairs.
func TestStatusPageShowsReconciliationRuns(t *testing.T) {
	t.Parallel()
	env, proc := start(t, nil)
	before := do(t, request{url: proc.URL + "/", header: bearer(harness.Token)})
	if !strings.Contains(before.body, "No run yet") {
		t.Errorf("status page before any run lacks \"No run yet\"")
	}
	waiting(t, env, "checked", 9500, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sum, err := reconcile.Request(ctx, asynq.NewClientFromRedisClient(env.Redis), runlog.NewRuns(env.Redis, env.Store.Prefix()), reconcile.RequestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	page := do(t, request{url: proc.URL + "/", header: bearer(harness.Token)})
	section := sectionOf(page.body, "reconcile")
	if section == "" {
		t.Fatal("status page has no reconciliation section")
	}
	for _, want := range []string{sum.Slot, `<td class="text">finished</td>`, sum.RepairsText()} {
		if !strings.Contains(section, want) {
			t.Errorf("reconciliation section lacks %q:\n%s", want, section)
		}
	}

	browser := newBrowser(t)
	step(t, browser, "log in", chromedp.Navigate(proc.URL+"/"), chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), harness.Token), chromedp.Submit(chromedp.ID("token")),
		chromedp.WaitVisible(chromedp.ID("reconcile")))
	if text := textOf(t, browser); !strings.Contains(text, sum.Slot) {
		t.Errorf("status page in the browser lacks the run %s:\n%s", sum.Slot, text)
	}
	shot(t, browser, outDir(t), "status-reconcile")
}
