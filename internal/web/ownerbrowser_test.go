package web_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/rdonboard/rdonboard/internal/config"
	"github.com/rdonboard/rdonboard/internal/harness"
	"github.com/rdonboard/rdonboard/internal/member"
)

// phoneUA is a phone's browser, so pages are laid out as on a phone.
const phoneUA = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Mobile Safari/537.36"

// speaking makes the browser ask for pages in lang (Accept-Language).
func speaking(lang string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetUserAgentOverride,
			emulation.SetUserAgentOverrideParams{UserAgent: phoneUA, AcceptLanguage: lang})
		return err
	})
}

// ownerSays is what the owner page says, by language.
var ownerSays = map[string]struct {
	progress, done string
}{
	"zh-CN": {"已绑定 %d/%d 个账号", "全部完成"},
	"en":    {"%d of %d accounts bound", "All done"},
}

// TestOwnerPageInABrowser: a phone's owner, in Chinese and in English, on
// a phone-sized screen, types the codes of a phone's 3 accounts one after
// another and watches the page count them, then say all is done.
func TestOwnerPageInABrowser(t *testing.T) {
	t.Parallel()
	ctx := newBrowser(t)
	dir := outDir(t)
	env, proc := start(t, func(c *config.Config) { c.PhoneGap = 100 * time.Millisecond })
	for i, lang := range []string{"zh-CN", "en"} {
		rows := sharedPhone(t, env, "owners-"+lang, 9100+10*i, 3)
		waitMember(t, env, rows[0].AccountID, func(m member.Member) bool { return m.State == member.CodeSent })
		l := ownerLinkOf(t, proc.URL, rows[0].Phone, nil)
		owner := ownerBrowser(t, ctx)
		step(t, owner, "speak "+lang, speaking(lang))
		typeCodes(t, env, owner, l.URL, rows, lang, dir)
	}
	t.Logf("screenshots in %s", dir)
}

// typeCodes opens the owner link and types each live code in turn, until
// the page says all is done, checking the progress after each code.
func typeCodes(t *testing.T, env *harness.Env, owner context.Context, link string, rows []harness.Row, lang, dir string) {
	t.Helper()
	says := ownerSays[lang]
	step(t, owner, "open the owner link", chromedp.Navigate(link), chromedp.WaitVisible(chromedp.ID("code")))
	page := textOf(t, owner)
	if !strings.Contains(page, fmt.Sprintf(says.progress, 0, 3)) || !strings.Contains(page, "86-139****") ||
		strings.Contains(page, rows[0].Phone) {
		t.Errorf("%s owner page does not show the masked phone and 0 of 3:\n%s", lang, page)
	}
	shot(t, owner, dir, "owner-"+lang+"-0-form")
	for i := range rows {
		live, ok, err := env.Store.LiveMember(context.Background(), rows[0].Phone)
		if err != nil || !ok {
			t.Fatalf("%s account %d: no live member (%v)", lang, i+1, err)
		}
		if page := textOf(t, owner); !strings.Contains(page, live.AccountID[len(live.AccountID)-4:]) {
			t.Errorf("%s: page does not name the live account ****%s:\n%s", lang, live.AccountID[len(live.AccountID)-4:], page)
		}
		code, _ := env.Sandbox.LatestCode(live.AccountID)
		step(t, owner, fmt.Sprintf("type code %d", i+1), chromedp.SendKeys(chromedp.ID("code"), code), chromedp.Submit(chromedp.ID("code")),
			waitText(fmt.Sprintf(says.progress, i+1, 3)))
		if i < len(rows)-1 {
			step(t, owner, "wait for the next account's form", chromedp.WaitVisible(chromedp.ID("code")))
		}
		shot(t, owner, dir, fmt.Sprintf("owner-%s-%d-bound", lang, i+1))
	}
	step(t, owner, "see all done", waitText(says.done))
	shot(t, owner, dir, "owner-"+lang+"-done")
}
