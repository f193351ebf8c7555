package main

import (
	"strings"
	"testing"
	"time"

	"github.com/rdonboard/rdonboard/internal/config"
	"github.com/rdonboard/rdonboard/internal/harness"
	"github.com/rdonboard/rdonboard/internal/ingest"
	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/internal/notify/notifytest"
	"github.com/rdonboard/rdonboard/internal/testwait"
)

// `enqueue notify` tells owners again through the worker's channels: by
// phone (in any accepted form) one more email to that owner only; by batch
// one more to each owner with accounts still to bind; a phone no member
// has, or a batch with nothing left to bind, exits 2.
func TestNotifySendsTheOwnerLinkAgain(t *testing.T) {
	t.Parallel()
	mail := notifytest.StartSMTP(t, false)
	env := harness.Start(t, harness.Options{Configure: func(c *config.Config) {
		c.LinkSecret, c.PhoneGap = "enqueue-notify-link-secret-77", 20*time.Millisecond
		c.SMTPURL, c.SMTPFrom, c.SMTPCAFile = mail.URL(), "onboard@example.com", mail.CAFile
	}})
	rows := harness.Members(7101, 3)
	rows[0].Phone, rows[0].Email = "86-13900007101", "x@example.com"
	rows[1].Phone, rows[1].Email = "86-13900007101", "x@example.com"
	rows[2].Email = "y@example.com"
	env.Enqueue("nudge", rows, ingest.Options{})
	mailsAre := func(x, y int) func() bool {
		return func() bool { return len(mail.MailsTo("x@example.com")) == x && len(mail.MailsTo("y@example.com")) == y }
	}
	testwait.Until(t, 20*time.Second, "the first owner_link emails", mailsAre(1, 1))

	r := run(t, env.RedisURL, "notify", "--phone", "+86 139 0000 7101")
	asked := time.Now().Unix()
	if r.Code != 0 || !strings.Contains(r.Stdout, "sent again to 1 phones") || strings.Contains(r.Stdout+r.Stderr, "13900007101") {
		t.Fatalf("notify --phone: exit %d, stdout %q, stderr %q", r.Code, r.Stdout, r.Stderr)
	}
	testwait.Until(t, 20*time.Second, "the nudged owner's second email", mailsAre(2, 1))
	if l, ok := mail.MailsTo("x@example.com")[1].LinkIn("/p/"); !ok || l == "" {
		t.Errorf("the nudge's email carries no owner link")
	}

	// A nudge is named by its second: the next one must come in a later one.
	testwait.Until(t, 2*time.Second, "the next second", func() bool { return time.Now().Unix() > asked })
	if r := run(t, env.RedisURL, "notify", "--batch", "nudge"); r.Code != 0 || !strings.Contains(r.Stdout, "sent again to 2 phones") {
		t.Fatalf("notify --batch: exit %d, stdout %q, stderr %q", r.Code, r.Stdout, r.Stderr)
	}
	testwait.Until(t, 20*time.Second, "one more email to each owner", mailsAre(3, 2))

	for _, args := range [][]string{{"--phone", "13900009999"}, {"--batch", "no-such-batch"}, {}, {"--phone", "12"}} {
		if r := run(t, env.RedisURL, append([]string{"notify"}, args...)...); r.Code != 2 {
			t.Errorf("notify %v: exit %d, want 2 (stderr %q)", args, r.Code, r.Stderr)
		}
	}
	env.StartPhoneOwners(env.Worker(0), harness.Correct)
	env.WaitFor(20*time.Second, func(c map[member.State]int64) bool { return c[member.Bound] == 3 })
	if r := run(t, env.RedisURL, "notify", "--phone", "86-13900007101"); r.Code != 2 || !strings.Contains(r.Stderr, "no phone with members to bind") {
		t.Errorf("notify for a finished phone: exit %d, stderr %q; want 2", r.Code, r.Stderr)
	}
}
