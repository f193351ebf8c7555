package web_test

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/rdonboard/rdonboard/internal/config"
	"github.com/rdonboard/rdonboard/internal/harness"
	"github.com/rdonboard/rdonboard/internal/ingest"
	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/internal/notify/notifytest"
	"github.com/rdonboard/rdonboard/internal/testwait"
	"github.com/rdonboard/rdonboard/internal/web"
)

// TestOwnerLinkFromTheEmailInABrowser: the owner opens the link of the
// email the worker sent, types the code the phone shows, and the page says
// the account is bound (the browser asks for English).
func TestOwnerLinkFromTheEmailInABrowser(t *testing.T) {
	t.Parallel()
	ctx := newBrowser(t)
	mail := notifytest.StartSMTP(t, false)
	env, _ := start(t, func(c *config.Config) {
		c.SMTPURL, c.SMTPFrom, c.SMTPCAFile = mail.URL(), "onboard@example.com", mail.CAFile
	})
	rows := harness.Members(9300, 1)
	rows[0].Email, rows[0].Name = "owner@example.com", "prod-mail"
	env.Enqueue("emailed", rows, ingest.Options{})

	var link string
	testwait.Until(t, 20*time.Second, "the owner link email", func() bool {
		for _, m := range mail.MailsTo("owner@example.com") {
			if l, ok := m.LinkIn(web.OwnerPath); ok {
				link = l
				return true
			}
		}
		return false
	})
	phone := env.Sandbox.PhoneView(rows[0].Phone)
	if len(phone) != 1 {
		t.Fatalf("phone shows %d SMS, want 1", len(phone))
	}
	owner := ownerBrowser(t, ctx)
	step(t, owner, "open the link from the email", chromedp.Navigate(link), chromedp.WaitVisible(chromedp.ID("code")))
	step(t, owner, "type the code", chromedp.SendKeys(chromedp.ID("code"), phone[0].Code), chromedp.Submit(chromedp.ID("code")),
		waitText(ownerSays["en"].done))
	shot(t, owner, outDir(t), "owner-from-email-done")
	if m := waitMember(t, env, rows[0].AccountID, func(m member.Member) bool { return m.State.Terminal() }); m.State != member.Bound {
		t.Errorf("member %s after the code typed from the email's link, want bound", m.State)
	}
}
