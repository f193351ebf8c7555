package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/rdonboard/rdonboard/internal/config"
	"github.com/rdonboard/rdonboard/internal/harness"
	"github.com/rdonboard/rdonboard/internal/i18n"
	"github.com/rdonboard/rdonboard/internal/ingest"
	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/internal/notify"
	"github.com/rdonboard/rdonboard/internal/notify/notifytest"
	"github.com/rdonboard/rdonboard/internal/sandbox"
	"github.com/rdonboard/rdonboard/internal/simworld"
	"github.com/rdonboard/rdonboard/internal/testwait"
	"github.com/rdonboard/rdonboard/internal/web"
	"github.com/rdonboard/rdonboard/tasks"
)

const (
	linkSecret   = "notify-scenario-link-secret-0a9c"
	hookSecret   = "notify-scenario-webhook-secret"
	robotSecret  = "SECnotify-scenario-robot"
	scenarioWait = 20 * time.Second
)

// world is a harness run whose owners are told on the channels started
// for it; nil channels are not configured.
type world struct {
	env                       *harness.Env
	mail                      *notifytest.SMTP
	hook, ding, feishu, wecom *notifytest.Receiver
	insp                      *asynq.Inspector
}

// worldOptions says which channels a world configures and how it runs.
type worldOptions struct {
	workers             int
	codeTTL             time.Duration
	email, hook, robots bool
}

func startWorld(t *testing.T, o worldOptions) *world {
	t.Helper()
	w := &world{}
	if o.email {
		w.mail = notifytest.StartSMTP(t, false)
	}
	if o.hook {
		w.hook = notifytest.StartReceiver(t, notifytest.Webhook, hookSecret, nil)
	}
	if o.robots {
		w.ding = notifytest.StartReceiver(t, notifytest.DingTalk, robotSecret, nil)
		w.feishu = notifytest.StartReceiver(t, notifytest.Feishu, robotSecret, nil)
		w.wecom = notifytest.StartReceiver(t, notifytest.WeCom, "", nil)
	}
	ttl := o.codeTTL
	if ttl == 0 {
		ttl = time.Hour
	}
	w.env = harness.Start(t, harness.Options{Workers: o.workers, Sandbox: sandbox.Options{CodeTTL: ttl},
		// The robots' documented rates (20 a minute) would make this test
		// wait minutes; the limiter itself is tested in internal/ratelimit.
		NotifyRates: map[string]float64{"dingtalk": 200, "wecom": 200, "feishu": 200},
		Configure: func(c *config.Config) {
			c.LinkSecret, c.PhoneGap, c.MaxSends = linkSecret, 30*time.Millisecond, 3
			if w.mail != nil {
				c.SMTPURL, c.SMTPFrom, c.SMTPCAFile = w.mail.URL(), "onboard@example.com", w.mail.CAFile
			}
			if w.hook != nil {
				c.NotifyWebhook, c.NotifySecret = w.hook.URL, hookSecret
			}
			if w.ding != nil {
				c.NotifyDingTalk, c.NotifyDingTalkSecret = w.ding.URL, robotSecret
				c.NotifyFeishu, c.NotifyFeishuSecret = w.feishu.URL, robotSecret
				c.NotifyWeCom = w.wecom.URL
			}
		}})
	w.insp = asynq.NewInspectorFromRedisClient(w.env.Redis)
	return w
}

// ownedRows returns n members on one phone (numbered from first), whose
// owner reads email at address.
func ownedRows(first, n int, address string) []harness.Row {
	return simworld.SharePhone(first, n, address)
}

// drained reports whether the notify queue holds no message still to send.
func (w *world) drained() bool {
	info, err := w.insp.GetQueueInfo(tasks.QueueNotify)
	return err == nil && info.Pending+info.Active+info.Scheduled+info.Retry == 0
}

// runRetries moves the notify queue's clock: messages put back (a
// throttle, a mail server down) are due now.
func (w *world) runRetries() {
	_, _ = w.insp.RunAllRetryTasks(tasks.QueueNotify)
	_, _ = w.insp.RunAllScheduledTasks(tasks.QueueNotify)
}

// hookEvents counts the webhook's events by masked phone and event.
func hookEvents(t *testing.T, r *notifytest.Receiver) (map[string]int, map[string]webhookBody) {
	t.Helper()
	counts, last := map[string]int{}, map[string]webhookBody{}
	for _, raw := range r.Accepted() {
		var b webhookBody
		if err := json.Unmarshal(raw, &b); err != nil {
			t.Fatalf("webhook body %s: %v", raw, err)
		}
		counts[b.Phone+" "+b.Event]++
		last[b.Phone+" "+b.Event] = b
	}
	return counts, last
}

type webhookBody struct {
	Event    string `json:"event"`
	Phone    string `json:"phone"`
	Email    string `json:"email"`
	URL      string `json:"url"`
	Accounts int    `json:"accounts"`
	Bound    int    `json:"bound"`
}

// mailEvents counts emails by recipient and event, telling the event by
// the subject.
func mailEvents(t *testing.T, mails []notifytest.Mail) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, m := range mails {
		subject, _, _, err := m.Parts()
		if err != nil {
			t.Fatal(err)
		}
		ev := notify.OwnerLink
		switch subject {
		case chinese.T(i18n.ReminderSubject):
			ev = notify.Reminder
		case chinese.T(i18n.DoneSubject):
			ev = notify.Done
		}
		out[m.To[0]+" "+string(ev)]++
	}
	return out
}

// Two workers, four phones (3 accounts, 2 accounts, two singles), every
// channel on. The owners know only their mailbox and their phone: each
// takes the owner link from the email and hands each code in on the owner
// page. Every member binds; each phone's owner gets exactly one owner_link
// and one done message on each channel (done with the phone's counts);
// and nothing any channel carried holds a code or a full phone number
// outside the robots' mention fields.
func TestOwnersToldOnceAcrossTwoWorkersAndBindFromTheEmail(t *testing.T) {
	t.Parallel()
	w := startWorld(t, worldOptions{workers: 2, email: true, hook: true, robots: true})
	phones := map[string][]harness.Row{
		"a@example.com": ownedRows(2001, 3, "a@example.com"), "b@example.com": ownedRows(2102, 2, "b@example.com"),
		"c@example.com": ownedRows(2203, 1, "c@example.com"), "d@example.com": ownedRows(2304, 1, "d@example.com"),
	}
	var rows []harness.Row
	owners := map[string]simworld.Owner{}
	for address, rs := range phones {
		rows = append(rows, rs...)
		owners[rs[0].Phone] = simworld.Owner{Email: address}
	}
	po := simworld.StartPageOwners(context.Background(), simworld.PageOwnersParams{Mail: w.mail.MailServer,
		CloudURL: w.env.CloudURL, LinkPath: web.OwnerPath, Phones: owners})
	t.Cleanup(po.Stop)
	w.env.Enqueue("told", rows, ingest.Options{})

	counts := w.env.WaitFor(scenarioWait, func(c map[member.State]int64) bool { return c[member.Bound] == int64(len(rows)) })
	testwait.Until(t, scenarioWait, "every done message sent", func() bool {
		return len(w.hook.Accepted()) >= 2*len(phones) && w.drained()
	})
	po.Stop()
	if st := po.Statuses(); st[200] != len(rows) || len(st) != 1 {
		t.Errorf("owner page answers %v, want %d × 200 (one code per member, each taken)", st, len(rows))
	}

	mails := mailEvents(t, w.mail.Mails())
	hook, last := hookEvents(t, w.hook)
	for address, rs := range phones {
		masked := "86-139****" + rs[0].Phone[len(rs[0].Phone)-4:]
		for _, ev := range []notify.Event{notify.OwnerLink, notify.Done} {
			if n := mails[address+" "+string(ev)]; n != 1 {
				t.Errorf("%s got %d %s emails, want 1", address, n, ev)
			}
			if n := hook[masked+" "+string(ev)]; n != 1 {
				t.Errorf("webhook: %d %s events for %s, want 1", n, ev, masked)
			}
		}
		if d := last[masked+" done"]; d.Accounts != len(rs) || d.Bound != len(rs) || d.Email != address {
			t.Errorf("done event for %s: %+v, want %d accounts, %d bound, email %s", masked, d, len(rs), len(rs), address)
		}
		if link := last[masked+" owner_link"].URL; !strings.Contains(link, web.OwnerPath) || po.Link(rs[0].Phone) == "" {
			t.Errorf("%s: webhook link %q, email link %q: want an owner link in both", masked, link, po.Link(rs[0].Phone))
		}
	}
	if len(w.mail.Mails()) != 2*len(phones) || len(w.hook.Accepted()) != 2*len(phones) {
		t.Errorf("%d emails, %d webhook events; want %d each (counts %v)", len(w.mail.Mails()), len(w.hook.Accepted()), 2*len(phones), counts)
	}
	for _, r := range []*notifytest.Receiver{w.ding, w.feishu, w.wecom} {
		if texts := robotTexts(t, r); len(texts) != 2*len(phones) || len(distinct(texts)) != len(texts) {
			t.Errorf("robot took %d messages (%d distinct), want %d distinct", len(texts), len(distinct(texts)), 2*len(phones))
		}
	}
	h, err := w.env.Store.History(context.Background(), phones["a@example.com"][2].AccountID)
	if err != nil || !historySays(h, "owner told: email owner_link delivered") || !historySays(h, "owner told: dingtalk done delivered") {
		t.Errorf("history of a member of a shared phone does not record the deliveries (%v): %+v", err, h)
	}
	assertNothingSecret(t, w, po.Handed(), rows)
}

func historySays(h []member.Event, line string) bool {
	for _, e := range h {
		b, _ := json.Marshal(e)
		if strings.Contains(string(b), line) {
			return true
		}
	}
	return false
}

func distinct(xs []string) map[string]bool {
	out := map[string]bool{}
	for _, x := range xs {
		out[x] = true
	}
	return out
}

// robotBody holds the fields of the three robots' bodies that carry text
// or a mention.
type robotBody struct {
	Markdown struct{ Text string } `json:"markdown"`
	At       struct {
		AtMobiles []string `json:"atMobiles"`
	} `json:"at"`
	Content struct{ Text string } `json:"content"`
	Text    struct {
		Content             string   `json:"content"`
		MentionedMobileList []string `json:"mentioned_mobile_list"`
	} `json:"text"`
}

// robotTexts returns the text of each message a robot took.
func robotTexts(t *testing.T, r *notifytest.Receiver) []string {
	t.Helper()
	var out []string
	for _, raw := range r.Accepted() {
		var b robotBody
		if err := json.Unmarshal(raw, &b); err != nil {
			t.Fatal(err)
		}
		out = append(out, b.Markdown.Text+b.Content.Text+b.Text.Content)
	}
	return out
}

// assertNothingSecret checks every captured message: no code handed in or
// sent, and no full phone number except in the robots' mention fields
// (DingTalk's at.atMobiles and the @mention in its text, WeCom's
// mentioned_mobile_list).
func assertNothingSecret(t *testing.T, w *world, handed []string, rows []harness.Row) {
	t.Helper()
	var captured []string
	for _, m := range w.mail.Mails() {
		_, text, html, err := m.Parts()
		if err != nil {
			t.Fatal(err)
		}
		captured = append(captured, string(m.Raw), text, html)
	}
	for _, raw := range w.hook.Accepted() {
		captured = append(captured, string(raw))
	}
	for _, r := range []*notifytest.Receiver{w.ding, w.feishu, w.wecom} {
		for _, raw := range r.Accepted() {
			captured = append(captured, withoutMentions(t, raw))
		}
	}
	var codes []string
	codes = append(codes, handed...)
	for _, r := range rows {
		for _, sms := range w.env.Sandbox.SMS(r.Phone) {
			codes = append(codes, sms.Code)
		}
	}
	if len(codes) < len(rows) {
		t.Fatalf("only %d codes captured for %d members", len(codes), len(rows))
	}
	for i, c := range captured {
		for _, code := range codes {
			if strings.Contains(c, code) {
				t.Errorf("message %d carries code %s", i, code)
			}
		}
		for _, r := range rows {
			if n := strings.TrimPrefix(r.Phone, "86-"); strings.Contains(c, n) {
				t.Errorf("message %d carries the full phone number 139…%s:\n%s", i, n[len(n)-4:], strings.ReplaceAll(c, n, "[number]"))
			}
		}
	}
}

// withoutMentions returns a robot body with its mention fields removed:
// the one place a full mobile number belongs.
func withoutMentions(t *testing.T, raw []byte) string {
	t.Helper()
	var b map[string]any
	if err := json.Unmarshal(raw, &b); err != nil {
		t.Fatal(err)
	}
	var mentioned []string
	if at, ok := b["at"].(map[string]any); ok {
		for _, m := range at["atMobiles"].([]any) {
			mentioned = append(mentioned, m.(string))
		}
		delete(b, "at")
	}
	if text, ok := b["text"].(map[string]any); ok {
		delete(text, "mentioned_mobile_list")
	}
	out, _ := json.Marshal(b)
	s := string(out)
	for _, m := range mentioned {
		s = strings.ReplaceAll(s, "@"+m, "@")
	}
	return s
}

// An owner who lets the first code expire is reminded, once per code that
// followed an unanswered one, with the same owner link; the code handed
// in from the reminder binds, and done follows.
func TestUnansweredCodeRemindsTheOwner(t *testing.T) {
	t.Parallel()
	w := startWorld(t, worldOptions{workers: 1, codeTTL: 700 * time.Millisecond, email: true, hook: true})
	rows := ownedRows(2405, 1, "e@example.com")
	po := simworld.StartPageOwners(context.Background(), simworld.PageOwnersParams{Mail: w.mail.MailServer,
		CloudURL: w.env.CloudURL, LinkPath: web.OwnerPath,
		Phones: map[string]simworld.Owner{rows[0].Phone: {Email: "e@example.com", Ignore: 1}}})
	t.Cleanup(po.Stop)
	w.env.Enqueue("remind", rows, ingest.Options{})

	w.env.WaitFor(scenarioWait, func(c map[member.State]int64) bool { return c[member.Bound] == 1 })
	testwait.Until(t, scenarioWait, "done message sent", func() bool { return len(w.mail.Mails()) >= 3 && w.drained() })
	m, err := w.env.Store.Get(context.Background(), rows[0].AccountID)
	if err != nil || m.Sends < 2 {
		t.Fatalf("member %+v (%v): want at least two codes sent", m, err)
	}
	mails := mailEvents(t, w.mail.Mails())
	if mails["e@example.com owner_link"] != 1 || mails["e@example.com reminder"] != m.Sends-1 || mails["e@example.com done"] != 1 {
		t.Errorf("emails %v; want 1 owner_link, %d reminder, 1 done", mails, m.Sends-1)
	}
	hook, last := hookEvents(t, w.hook)
	if hook["86-139****2405 reminder"] != m.Sends-1 || !strings.Contains(last["86-139****2405 reminder"].URL, web.OwnerPath) {
		t.Errorf("webhook events %v; want %d reminders carrying the owner link", hook, m.Sends-1)
	}
}

// With the mail server down, codes are still sent and bound; the emails
// wait and arrive once the server is back on the same address, each
// exactly once.
func TestEmailsWaitOutAMailServerOutage(t *testing.T) {
	t.Parallel()
	w := startWorld(t, worldOptions{workers: 2, email: true})
	w.mail.Stop()
	var rows []harness.Row
	for i, address := range []string{"f@example.com", "g@example.com", "h@example.com"} {
		rows = append(rows, ownedRows(2506+i, 1, address)...)
	}
	w.env.StartPhoneOwners(w.env.Worker(1), harness.Correct)
	w.env.Enqueue("outage", rows, ingest.Options{})

	w.env.WaitFor(scenarioWait, func(c map[member.State]int64) bool { return c[member.Bound] == int64(len(rows)) })
	if n := len(w.mail.Mails()); n != 0 {
		t.Fatalf("%d emails while the mail server was down", n)
	}
	testwait.Until(t, scenarioWait, "emails put back for a retry", func() bool {
		info, err := w.insp.GetQueueInfo(tasks.QueueNotify)
		return err == nil && info.Retry >= len(rows)
	})
	w.mail.Start(t)
	testwait.Until(t, scenarioWait, "emails after the mail server came back", func() bool {
		w.runRetries()
		return len(w.mail.Mails()) >= 2*len(rows) && w.drained()
	})
	mails := mailEvents(t, w.mail.Mails())
	for _, r := range rows {
		if mails[r.Email+" owner_link"] != 1 || mails[r.Email+" done"] != 1 {
			t.Errorf("%s: emails %v; want one owner_link and one done", r.Email, mails)
		}
	}
	if n := len(w.mail.Mails()); n != 2*len(rows) {
		t.Errorf("%d emails, want %d", n, 2*len(rows))
	}
}

// DingTalk and WeCom answer their "too fast" codes (and Feishu its rate
// code) to the first messages: those come back later and are delivered,
// and no message is delivered twice.
func TestRobotThrottlesDeliverLaterNeverTwice(t *testing.T) {
	t.Parallel()
	w := startWorld(t, worldOptions{workers: 2, robots: true})
	receivers := []*notifytest.Receiver{w.ding, w.feishu, w.wecom}
	for _, r := range receivers {
		r.ThrottleNext(2)
	}
	rows := append(ownedRows(2610, 1, ""), ownedRows(2611, 1, "")...)
	w.env.StartPhoneOwners(w.env.Worker(0), harness.Correct)
	w.env.Enqueue("throttled", rows, ingest.Options{})

	w.env.WaitFor(scenarioWait, func(c map[member.State]int64) bool { return c[member.Bound] == int64(len(rows)) })
	testwait.Until(t, scenarioWait, "robots throttled twice each", func() bool {
		for _, r := range receivers {
			if _, _, th := r.Counts(); th < 2 {
				return false
			}
		}
		return true
	})
	testwait.Until(t, scenarioWait, "throttled messages delivered", func() bool {
		w.runRetries()
		for _, r := range receivers {
			if n, _, _ := r.Counts(); n < 2*len(rows) {
				return false
			}
		}
		return w.drained()
	})
	for _, r := range receivers {
		texts := robotTexts(t, r)
		if len(texts) != 2*len(rows) || len(distinct(texts)) != len(texts) {
			t.Errorf("robot took %d messages (%d distinct), want %d: %q", len(texts), len(distinct(texts)), 2*len(rows), texts)
		}
	}
}

// Two nudges of one phone in the same second are one message per channel;
// a nudge a second later is another.
func TestNudgesOfOneSecondAreOne(t *testing.T) {
	t.Parallel()
	env := harness.Start(t, harness.Options{Workers: -1})
	env.Enqueue("nudged", ownedRows(2720, 2, "n@example.com"), ingest.Options{})
	n := notify.NewNotifier(notify.NotifierParams{Store: env.Store, Client: env.Client, Channels: []string{"email", "webhook"}})
	at := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	for _, when := range []time.Time{at, at.Add(400 * time.Millisecond), at.Add(time.Second)} {
		if err := n.Nudge(context.Background(), "86-13900002720", when); err != nil {
			t.Fatal(err)
		}
	}
	info, err := asynq.NewInspectorFromRedisClient(env.Redis).GetQueueInfo(tasks.QueueNotify)
	if err != nil || info.Pending != 4 {
		t.Errorf("notify queue %+v (%v): want 4 messages (2 nudges × 2 channels)", info, err)
	}
	if err := n.Nudge(context.Background(), "86-13900009999", at); !errors.Is(err, notify.ErrNoMembers) {
		t.Errorf("nudge of a phone no member has: %v, want ErrNoMembers", err)
	}
}
