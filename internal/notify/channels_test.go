package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"strings"
	"testing"
	"time"

	"github.com/rdonboard/rdonboard/internal/i18n"
	"github.com/rdonboard/rdonboard/internal/notify"
	"github.com/rdonboard/rdonboard/internal/notify/notifytest"
)

const (
	fullPhone = "86-13900001234"
	national  = "13900001234"
	ownerURL  = "https://onboard.example.com/p/abc.def"
)

func message(ev notify.Event) notify.Message {
	return notify.Message{Event: ev, Phone: fullPhone, Email: "owner@example.com", URL: ownerURL,
		Accounts: 3, Bound: 1, SentAt: time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC)}
}

var (
	chinese = i18n.New(i18n.Chinese, time.UTC)
	english = i18n.New(i18n.English, time.UTC)
)

// parts reads the text and HTML parts of a multipart/alternative mail.
func parts(t *testing.T, m notifytest.Mail) (subject, text, html string) {
	t.Helper()
	msg, err := m.Parsed()
	if err != nil {
		t.Fatal(err)
	}
	subject, err = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type %q (%v), want multipart/alternative", msg.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return subject, text, html
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(p) // multipart.Reader undoes quoted-printable
		if strings.HasPrefix(p.Header.Get("Content-Type"), "text/html") {
			html = string(b)
		} else {
			text = string(b)
		}
	}
}

func TestEmailOverSTARTTLSAndImplicitTLS(t *testing.T) {
	for _, implicit := range []bool{false, true} {
		srv := notifytest.StartSMTP(t, implicit)
		ch, err := notify.NewEmail(notify.EmailConfig{URL: srv.URL(), From: "onboard@example.com", CAFile: srv.CAFile}, chinese)
		if err != nil {
			t.Fatal(err)
		}
		id, err := ch.Send(context.Background(), message(notify.OwnerLink))
		if err != nil {
			t.Fatalf("implicit=%v: %v", implicit, err)
		}
		mails := srv.Mails()
		if len(mails) != 1 || mails[0].To[0] != "owner@example.com" || id == "" {
			t.Fatalf("implicit=%v: mails %+v, message ID %q", implicit, mails, id)
		}
		subject, text, html := parts(t, mails[0])
		if subject != "请为 3 个账号绑定安全手机" {
			t.Errorf("subject %q", subject)
		}
		if !lineAlone(text, ownerURL) || !strings.Contains(html, `href="`+ownerURL+`"`) {
			t.Errorf("link missing: text %q html %q", text, html)
		}
		if strings.Contains(string(mails[0].Raw), national) || !strings.Contains(text, "86-139****1234") {
			t.Errorf("mail shows the full phone or no masked one: %q", text)
		}
	}
}

func lineAlone(text, line string) bool {
	for _, l := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		if l == line {
			return true
		}
	}
	return false
}

func TestEmailInEnglish(t *testing.T) {
	srv := notifytest.StartSMTP(t, false)
	ch, err := notify.NewEmail(notify.EmailConfig{URL: srv.URL(), From: "onboard@example.com", CAFile: srv.CAFile}, english)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ch.Send(context.Background(), message(notify.Reminder)); err != nil {
		t.Fatal(err)
	}
	subject, text, _ := parts(t, srv.Mails()[0])
	if subject != "A new code was sent" || !strings.Contains(text, "The last code expired") || !lineAlone(text, ownerURL) {
		t.Errorf("subject %q text %q", subject, text)
	}
}

func TestEmailRefusesAnUntrustedServerAndWrongPassword(t *testing.T) {
	srv := notifytest.StartSMTP(t, false)
	ch, err := notify.NewEmail(notify.EmailConfig{URL: srv.URL(), From: "onboard@example.com"}, english)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ch.Send(context.Background(), message(notify.OwnerLink)); err == nil {
		t.Error("mail went to a server signed by an unknown CA")
	}
	bad := strings.Replace(srv.URL(), srv.Password, "wrong", 1)
	ch, _ = notify.NewEmail(notify.EmailConfig{URL: bad, From: "onboard@example.com", CAFile: srv.CAFile}, english)
	if _, err := ch.Send(context.Background(), message(notify.OwnerLink)); err == nil || strings.Contains(err.Error(), "wrong") {
		t.Errorf("wrong password: err %v", err)
	}
	if n := len(srv.Mails()); n != 0 {
		t.Errorf("%d mails accepted", n)
	}
}

func TestEmailWithoutAddressIsSkipped(t *testing.T) {
	srv := notifytest.StartSMTP(t, false)
	ch, _ := notify.NewEmail(notify.EmailConfig{URL: srv.URL(), From: "onboard@example.com", CAFile: srv.CAFile}, english)
	msg := message(notify.OwnerLink)
	msg.Email = ""
	if _, err := ch.Send(context.Background(), msg); !errors.Is(err, notify.ErrSkip) {
		t.Errorf("err %v, want ErrSkip", err)
	}
}

func TestNewEmailNamesTheVariable(t *testing.T) {
	for _, cfg := range []notify.EmailConfig{
		{URL: "ftp://host", From: "a@example.com"},
		{URL: "smtp://host:port", From: "a@example.com"},
		{URL: "smtp://host", From: "not an address"},
		{URL: "smtp://host", From: "a@example.com", CAFile: "/nonexistent.pem"},
	} {
		_, err := notify.NewEmail(cfg, english)
		if err == nil || !strings.Contains(err.Error(), "ONBOARD_SMTP_") {
			t.Errorf("%+v: err %v", cfg, err)
		}
	}
}

func TestWebhookBodyAndSignature(t *testing.T) {
	r := notifytest.StartReceiver(t, notifytest.Webhook, "webhook-secret-123456", nil)
	if _, err := notify.NewWebhook(r.URL, "webhook-secret-123456", nil).Send(context.Background(), message(notify.Done)); err != nil {
		t.Fatal(err)
	}
	got := string(r.Accepted()[0])
	want := `{"event":"done","phone":"86-139****1234","email":"owner@example.com","url":"` + ownerURL +
		`","accounts":3,"bound":1,"sent_at":"2026-12-03T08:00:00Z"}`
	if got != want {
		t.Errorf("body\n got %s\nwant %s", got, want)
	}
	_, err := notify.NewWebhook(r.URL, "another-secret-123456", nil).Send(context.Background(), message(notify.Done))
	if !errors.Is(err, notify.ErrRejected) {
		t.Errorf("wrong secret: err %v, want ErrRejected", err)
	}
}

// sendAndRead sends message(ev) on ch, which must be delivered, and decodes
// the first body r took into v.
func sendAndRead(t *testing.T, r *notifytest.Receiver, ch notify.Channel, ev notify.Event, v any) {
	t.Helper()
	if _, err := ch.Send(context.Background(), message(ev)); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(r.Accepted()[0], v); err != nil {
		t.Fatalf("body the receiver took: %v", err)
	}
}

func TestDingTalkSignsAndMentions(t *testing.T) {
	r := notifytest.StartReceiver(t, notifytest.DingTalk, "SECdingtalk", nil)
	var b struct {
		MsgType  string
		Markdown struct{ Title, Text string }
		At       struct{ AtMobiles []string }
	}
	sendAndRead(t, r, notify.NewDingTalk(r.URL, "SECdingtalk", chinese, nil, nil), notify.OwnerLink, &b)
	if b.MsgType != "markdown" || len(b.At.AtMobiles) != 1 || b.At.AtMobiles[0] != national ||
		!strings.Contains(b.Markdown.Text, "@"+national) || !strings.Contains(b.Markdown.Text, "("+ownerURL+")") {
		t.Errorf("body %+v", b)
	}
	_, err := notify.NewDingTalk(r.URL, "SECwrong", chinese, nil, nil).Send(context.Background(), message(notify.OwnerLink))
	if !errors.Is(err, notify.ErrRejected) || !strings.Contains(err.Error(), "310000") {
		t.Errorf("wrong secret: err %v", err)
	}
	stale := func() time.Time { return time.Now().Add(-2 * time.Hour) }
	_, err = notify.NewDingTalk(r.URL, "SECdingtalk", chinese, nil, stale).Send(context.Background(), message(notify.OwnerLink))
	if !errors.Is(err, notify.ErrRejected) {
		t.Errorf("timestamp two hours old: err %v", err)
	}
}

func TestFeishuSignsInTheBody(t *testing.T) {
	r := notifytest.StartReceiver(t, notifytest.Feishu, "feishu-secret", nil)
	var b struct {
		MsgType string `json:"msg_type"`
		Content struct{ Text string }
	}
	sendAndRead(t, r, notify.NewFeishu(r.URL, "feishu-secret", english, nil, nil), notify.Reminder, &b)
	if b.MsgType != "text" || !lineAlone(b.Content.Text, ownerURL) || strings.Contains(b.Content.Text, national) {
		t.Errorf("body %+v", b)
	}
	_, err := notify.NewFeishu(r.URL, "other", english, nil, nil).Send(context.Background(), message(notify.Reminder))
	if !errors.Is(err, notify.ErrRejected) || !strings.Contains(err.Error(), "19021") {
		t.Errorf("wrong secret: err %v", err)
	}
}

func TestWeComMentionsInText(t *testing.T) {
	r := notifytest.StartReceiver(t, notifytest.WeCom, "", nil)
	var b struct {
		MsgType string
		Text    struct {
			Content             string
			MentionedMobileList []string `json:"mentioned_mobile_list"`
		}
	}
	sendAndRead(t, r, notify.NewWeCom(r.URL, chinese, nil), notify.OwnerLink, &b)
	if b.MsgType != "text" || len(b.Text.MentionedMobileList) != 1 || b.Text.MentionedMobileList[0] != national ||
		strings.Contains(b.Text.Content, national) || !lineAlone(b.Text.Content, ownerURL) {
		t.Errorf("body %+v", b)
	}
}

func TestRobotsThrottleAnswers(t *testing.T) {
	cases := []struct {
		kind notifytest.Kind
		ch   func(url string) notify.Channel
	}{
		{notifytest.DingTalk, func(u string) notify.Channel { return notify.NewDingTalk(u, "s", english, nil, nil) }},
		{notifytest.Feishu, func(u string) notify.Channel { return notify.NewFeishu(u, "s", english, nil, nil) }},
		{notifytest.WeCom, func(u string) notify.Channel { return notify.NewWeCom(u, english, nil) }},
		{notifytest.Webhook, func(u string) notify.Channel { return notify.NewWebhook(u, "s", nil) }},
	}
	for _, c := range cases {
		r := notifytest.StartReceiver(t, c.kind, "s", nil)
		r.ThrottleNext(1)
		_, err := c.ch(r.URL).Send(context.Background(), message(notify.OwnerLink))
		var th *notify.ThrottledError
		if !errors.As(err, &th) || th.After <= 0 {
			t.Errorf("%s: err %v, want a ThrottledError", c.kind, err)
		}
		if _, err := c.ch(r.URL).Send(context.Background(), message(notify.OwnerLink)); err != nil {
			t.Errorf("%s after the throttle: %v", c.kind, err)
		}
	}
}
