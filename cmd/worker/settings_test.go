package main

import (
	"strings"
	"testing"

	"github.com/rdonboard/rdonboard/internal/cli/clitest"
)

// unreachable is a Redis URL nothing answers at: the worker must stop on its
// settings before it dials.
const unreachable = "redis://127.0.0.1:1/0"

// A callback token shorter than 16 bytes stops the worker at start with
// exit 2 and an error naming the variable, and the token is not echoed.
func TestShortTokenStopsTheWorker(t *testing.T) {
	r := clitest.Run(t, "worker", unreachable, []string{"ONBOARD_CALLBACK_TOKEN=short-7f3a"}, "run")
	if r.Code != 2 || !strings.Contains(r.Stderr, "ONBOARD_CALLBACK_TOKEN") || strings.Contains(r.Stderr, "short-7f3a") {
		t.Errorf("exit %d, stderr %q; want exit 2 naming ONBOARD_CALLBACK_TOKEN without showing it", r.Code, r.Stderr)
	}
}

// A bad owner channel setting stops the worker at start with exit 2 and an
// error naming the variable, without echoing the password or secret.
func TestBadOwnerChannelSettingsStopTheWorker(t *testing.T) {
	cases := map[string]struct {
		env  []string
		name string
	}{
		"malformed SMTP URL":      {[]string{"ONBOARD_SMTP_URL=imap://mailer:pw-9d1c@mail.example.com", "ONBOARD_SMTP_FROM=a@example.com"}, "ONBOARD_SMTP_URL"},
		"email without sender":    {[]string{"ONBOARD_SMTP_URL=smtp://mailer:pw-9d1c@mail.example.com:587"}, "ONBOARD_SMTP_FROM"},
		"webhook without secret":  {[]string{"ONBOARD_NOTIFY_WEBHOOK=https://hooks.example.com/rd"}, "ONBOARD_NOTIFY_SECRET"},
		"robot over plain HTTP":   {[]string{"ONBOARD_NOTIFY_WECOM=http://qyapi.example.com/cgi-bin/webhook/send?key=pw-9d1c"}, "ONBOARD_NOTIFY_WECOM"},
		"DingTalk without secret": {[]string{"ONBOARD_NOTIFY_DINGTALK=https://oapi.dingtalk.com/robot/send?access_token=pw-9d1c"}, "ONBOARD_NOTIFY_DINGTALK_SECRET"},
		"unreadable SMTP CA":      {[]string{"ONBOARD_SMTP_URL=smtp://mailer:pw-9d1c@127.0.0.1:587", "ONBOARD_SMTP_FROM=a@example.com", "ONBOARD_SMTP_CA_FILE=/nonexistent/ca.pem"}, "ONBOARD_SMTP_CA_FILE"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := clitest.Run(t, "worker", unreachable, c.env, "run")
			if r.Code != 2 || !strings.Contains(r.Stderr, c.name) || strings.Contains(r.Stderr, "pw-9d1c") {
				t.Errorf("exit %d, stderr %q; want exit 2 naming %s without the secret", r.Code, r.Stderr, c.name)
			}
		})
	}
}
