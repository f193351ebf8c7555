package notify

import (
	"context"
	"net/http"
	"time"

	"github.com/rdonboard/rdonboard/internal/i18n"
)

// WeCom throttle answer: 45009 (api freq out of limit, over 20 messages a
// minute).
var wecomThrottles = map[int]bool{45009: true}

// wecomHold is how long a throttled WeCom message waits: past the minute
// window.
const wecomHold = time.Minute

// WeCom posts to a WeCom group robot (ONBOARD_NOTIFY_WECOM): a text
// message, since only text can mention by mobile number; no signature, the
// key in the URL is the secret.
type WeCom struct {
	robot
}

// NewWeCom returns the WeCom channel.
func NewWeCom(robotURL string, l i18n.Localizer, client *http.Client) *WeCom {
	return &WeCom{newRobot(robotURL, "", l, client, nil)}
}

// Name is "wecom".
func (w *WeCom) Name() string { return "wecom" }

type wecomBody struct {
	MsgType string `json:"msgtype"`
	Text    struct {
		Content             string   `json:"content"`
		MentionedMobileList []string `json:"mentioned_mobile_list"`
	} `json:"text"`
}

// Send posts msg.
func (w *WeCom) Send(ctx context.Context, msg Message) (string, error) {
	t := Render(w.lang, msg)
	b := wecomBody{MsgType: "text"}
	b.Text.Content = t.Subject + "\n" + t.plain()
	b.Text.MentionedMobileList = []string{msg.Mobile()}
	var ans robotAnswer
	status, err := w.poster.postJSON(ctx, w.Name(), w.url, b, &ans)
	return "", robotOutcome(w.Name(), status, err, ans, wecomThrottles, wecomHold)
}

var _ Channel = (*WeCom)(nil)
