package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/rdonboard/rdonboard/internal/i18n"
)

// DingTalk throttle answers: 130101 "send too fast" (over 20 messages a
// minute, after which the robot is held for 10 minutes) and 410100, the
// same limit as newer robots word it.
var dingTalkThrottles = map[int]bool{130101: true, 410100: true}

// dingTalkHold is how long DingTalk holds a robot that went over its rate.
const dingTalkHold = 10 * time.Minute

// DingTalk posts to a DingTalk custom robot with its signing scheme: the
// millisecond timestamp and sign in the query, the message in markdown
// mentioning the owner's mobile number (ONBOARD_NOTIFY_DINGTALK, …_SECRET).
type DingTalk struct {
	robot
}

// NewDingTalk returns the DingTalk channel; now nil means time.Now.
func NewDingTalk(robotURL, secret string, l i18n.Localizer, client *http.Client, now func() time.Time) *DingTalk {
	return &DingTalk{newRobot(robotURL, secret, l, client, now)}
}

// Name is "dingtalk".
func (d *DingTalk) Name() string { return "dingtalk" }

// DingTalkSign is the robot's signature of timestamp (ms) under secret:
// base64(HMAC-SHA256(key=secret, msg=timestamp+"\n"+secret)), before URL
// encoding.
func DingTalkSign(timestamp, secret string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(timestamp + "\n" + secret))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

type dingTalkBody struct {
	MsgType  string `json:"msgtype"`
	Markdown struct {
		Title string `json:"title"`
		Text  string `json:"text"`
	} `json:"markdown"`
	At struct {
		AtMobiles []string `json:"atMobiles"`
	} `json:"at"`
}

// Send posts msg.
func (d *DingTalk) Send(ctx context.Context, msg Message) (string, error) {
	t := Render(d.lang, msg)
	var b dingTalkBody
	b.MsgType = "markdown"
	b.Markdown.Title = t.Subject
	b.Markdown.Text = "### " + t.Subject + "\n\n@" + msg.Mobile() + " " + t.Body
	if t.URL != "" {
		b.Markdown.Text += "\n\n[" + d.lang.T(i18n.OpenLink) + "](" + t.URL + ")"
	}
	b.At.AtMobiles = []string{msg.Mobile()}
	var ans robotAnswer
	status, err := d.poster.postJSON(ctx, d.Name(), d.signedURL(), b, &ans)
	return "", robotOutcome(d.Name(), status, err, ans, dingTalkThrottles, dingTalkHold)
}

// signedURL adds timestamp and sign to the robot's URL.
func (d *DingTalk) signedURL() string {
	ts := strconv.FormatInt(d.now().UnixMilli(), 10)
	u, err := url.Parse(d.url)
	if err != nil || d.secret == "" {
		return d.url
	}
	q := u.Query()
	q.Set("timestamp", ts)
	q.Set("sign", DingTalkSign(ts, d.secret))
	u.RawQuery = q.Encode()
	return u.String()
}

var _ Channel = (*DingTalk)(nil)
