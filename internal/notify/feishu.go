package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
	"time"

	"github.com/rdonboard/rdonboard/internal/i18n"
)

// Feishu throttle answers: 11232 (frequency limited) and 9499 (too many
// requests); the bot allows 5 messages a second and 100 a minute.
var feishuThrottles = map[int]bool{11232: true, 9499: true}

// feishuHold is how long a throttled Feishu message waits: past the
// minute window.
const feishuHold = time.Minute

// Feishu posts to a Feishu/Lark custom bot: timestamp (seconds) and sign in
// the body, a text message (ONBOARD_NOTIFY_FEISHU, …_SECRET).
type Feishu struct {
	robot
}

// NewFeishu returns the Feishu channel; now nil means time.Now.
func NewFeishu(botURL, secret string, l i18n.Localizer, client *http.Client, now func() time.Time) *Feishu {
	return &Feishu{newRobot(botURL, secret, l, client, now)}
}

// Name is "feishu".
func (f *Feishu) Name() string { return "feishu" }

// FeishuSign is the bot's signature of timestamp (seconds) under secret:
// base64(HMAC-SHA256(key=timestamp+"\n"+secret, message empty)), key and
// message the other way round from DingTalk.
func FeishuSign(timestamp, secret string) string {
	mac := hmac.New(sha256.New, []byte(timestamp+"\n"+secret))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

type feishuBody struct {
	Timestamp string `json:"timestamp,omitempty"`
	Sign      string `json:"sign,omitempty"`
	MsgType   string `json:"msg_type"`
	Content   struct {
		Text string `json:"text"`
	} `json:"content"`
}

type feishuAnswer struct {
	Code int    `json:"code"`
	Msg  string `json:"msg"`
	// StatusCode is the older bots' form of the same answer.
	StatusCode int `json:"StatusCode"`
}

// Send posts msg.
func (f *Feishu) Send(ctx context.Context, msg Message) (string, error) {
	t := Render(f.lang, msg)
	b := feishuBody{MsgType: "text"}
	b.Content.Text = t.Subject + "\n" + t.plain()
	if f.secret != "" {
		b.Timestamp = strconv.FormatInt(f.now().Unix(), 10)
		b.Sign = FeishuSign(b.Timestamp, f.secret)
	}
	var ans feishuAnswer
	status, err := f.poster.postJSON(ctx, f.Name(), f.url, b, &ans)
	code := ans.Code
	if code == 0 {
		code = ans.StatusCode
	}
	return "", robotOutcome(f.Name(), status, err, robotAnswer{ErrCode: code, ErrMsg: ans.Msg}, feishuThrottles, feishuHold)
}

var _ Channel = (*Feishu)(nil)
