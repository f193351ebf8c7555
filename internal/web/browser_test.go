package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/rdonboard/rdonboard/internal/harness"
	"github.com/rdonboard/rdonboard/internal/ingest"
	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/internal/sandbox"
	"github.com/rdonboard/rdonboard/internal/web"
)

// chromiumPath is Debian's chromium (apt-get install chromium).
const chromiumPath = "/usr/bin/chromium"

// browser starts headless Chromium for t, or fails the test when it is
// missing (skips only with RDONBOARD_SKIP_BROWSER=1).
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("RDONBOARD_SKIP_BROWSER") == "1" {
			t.Skipf("%s missing and RDONBOARD_SKIP_BROWSER=1", chromiumPath)
		}
		t.Fatalf("%s missing (apt-get install -y chromium, or RDONBOARD_SKIP_BROWSER=1 to skip): %v", chromiumPath, err)
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromiumPath), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck, chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900))
	ctx, cancel := chromedp.NewContext(alloc, chromedp.WithErrorf(t.Logf))
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// outDir is where screenshots go: $RDONBOARD_TEST_OUT, else a temporary
// folder.
func outDir(t *testing.T) string {
	dir := os.Getenv("RDONBOARD_TEST_OUT")
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// step runs actions on ctx with a time limit, failing the test with what.
func step(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		look, stop := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer stop()
		page, _ := chromedp.Run(look, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
		t.Fatalf("%s: %v; the page says:\n%s", what, err, page)
	}
}

// shot saves a screenshot of the whole page as name.png.
func shot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// textOf returns the visible text of the page.
func textOf(t *testing.T, ctx context.Context) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
	if err != nil {
		t.Fatalf("page text: %v", err)
	}
	return s
}

// waitText waits until the page shows text, across the page's own
// reloads.
func waitText(text string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		check := chromedp.Evaluate[bool](`!!document.body && document.body.innerText.includes(` + jsString(text) + `)`)
		for {
			if found, err := check(ctx, tg); err == nil && found {
				return chromedp.Void{}, nil
			}
			select {
			case <-ctx.Done():
				return chromedp.Void{}, fmt.Errorf("page never showed %q: %w", text, ctx.Err())
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
}

// jsString quotes s as a JavaScript string.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestInABrowser drives headless Chromium through the operator's and the
// phone owner's pages: the login, the status page, the queue dashboard,
// and a self-service link where a code is typed and the member is bound.
func TestInABrowser(t *testing.T) {
	t.Parallel()
	ctx := newBrowser(t)
	dir := outDir(t)
	env, proc := start(t, nil)
	failing := harness.Members(700, 2)
	for _, r := range failing {
		env.Sandbox.SetAccount(r.AccountID, sandbox.AccountFault{Type: sandbox.TypeCloudAccount})
	}
	env.Enqueue("finance", failing, ingest.Options{})
	rows := waiting(t, env, "finance", 600, 3)

	step(t, ctx, "open the status page", chromedp.Navigate(proc.URL+"/"), chromedp.WaitVisible(chromedp.ID("token")))
	if loc, _ := chromedp.Run(ctx, chromedp.Location()); !strings.Contains(loc, "/login?next=") {
		t.Errorf("status page without a session went to %s, want the login form", loc)
	}
	shot(t, ctx, dir, "1-login")
	step(t, ctx, "log in", chromedp.SendKeys(chromedp.ID("token"), harness.Token), chromedp.Submit(chromedp.ID("token")),
		chromedp.WaitVisible(chromedp.ID("batches")))
	page := textOf(t, ctx)
	for _, want := range []string{"Members by batch", "finance", "Members that need a person (2)", "86-139****0700", "AccountTypeMismatch"} {
		if !strings.Contains(page, want) {
			t.Errorf("status page lacks %q:\n%s", want, page)
		}
	}
	shot(t, ctx, dir, "2-status")

	step(t, ctx, "open the queue dashboard", chromedp.Navigate(proc.URL+"/monitoring/"), waitText("Tasks Processed"), waitText("send\t"))
	shot(t, ctx, dir, "3-dashboard")

	owner := ownerBrowser(t, ctx)
	link := linkOf(t, proc.URL, rows[0].AccountID)
	step(t, owner, "open the code link", chromedp.Navigate(link.URL), chromedp.WaitVisible(chromedp.ID("code")))
	if loc, _ := chromedp.Run(owner, chromedp.Location()); !strings.Contains(loc, web.OwnerPath) {
		t.Errorf("the member's code link went to %s, want its phone's owner page (%s…)", loc, web.OwnerPath)
	}
	if page := textOf(t, owner); !strings.Contains(page, "86-139****0600") || strings.Contains(page, rows[0].Phone) {
		t.Errorf("code page does not show the masked phone alone:\n%s", page)
	}
	shot(t, owner, dir, "4-code-form")
	code, _ := env.Sandbox.LatestCode(rows[0].AccountID)
	step(t, owner, "hand in the code", chromedp.SendKeys(chromedp.ID("code"), code), chromedp.Submit(chromedp.ID("code")))
	waitMember(t, env, rows[0].AccountID, func(m member.Member) bool { return m.State == member.Bound })
	step(t, owner, "see the result", waitText("All done"))
	shot(t, owner, dir, "5-code-done")

	step(t, owner, "try the status page with a link only", chromedp.Navigate(proc.URL+"/"), chromedp.WaitVisible(chromedp.ID("token")))
	t.Logf("screenshots in %s", dir)
}

// ownerBrowser is a fresh browser context (no cookies) sized like a phone.
func ownerBrowser(t *testing.T, parent context.Context) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(parent, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	// The first run makes the tab, which lives as long as that run's
	// context: give it no time limit.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("open a browser context: %v", err)
	}
	step(t, ctx, "size the owner's window", chromedp.EmulateViewport(390, 844))
	return ctx
}
