package notify

import (
	"net/http"
	"strconv"
	"time"

	"github.com/rdonboard/rdonboard/internal/i18n"
)

// robot is what the chat robot channels (DingTalk, Feishu, WeCom) hold: the
// robot's URL, its signing secret (empty for WeCom, whose key in the URL is
// the secret), the language of the messages, the clock that dates the
// signatures and the poster.
type robot struct {
	url    string
	secret string
	lang   i18n.Localizer
	now    func() time.Time
	poster poster
}

// newRobot returns a robot's parts; now nil means time.Now.
func newRobot(robotURL, secret string, l i18n.Localizer, client *http.Client, now func() time.Time) robot {
	if now == nil {
		now = time.Now
	}
	return robot{url: robotURL, secret: secret, lang: l, now: now, poster: newPoster(client)}
}

// robotAnswer is the answer of DingTalk and WeCom robots (and Feishu's, once
// read).
type robotAnswer struct {
	ErrCode int    `json:"errcode"`
	ErrMsg  string `json:"errmsg"`
}

// robotOutcome turns a chat robot's answer into Send's error: errcode 0 is
// a delivery, a throttle code a ThrottledError, anything else a refusal.
func robotOutcome(channel string, status int, err error, ans robotAnswer, throttles map[int]bool, hold time.Duration) error {
	switch {
	case err != nil:
		return err
	case status == http.StatusTooManyRequests || throttles[ans.ErrCode]:
		return &ThrottledError{Channel: channel, Code: strconv.Itoa(ans.ErrCode), After: hold}
	case status >= 300 || ans.ErrCode != 0:
		return rejected(channel, ans.ErrCode, ans.ErrMsg)
	}
	return nil
}
