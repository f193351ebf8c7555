package simworld

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/rdonboard/rdonboard/internal/ctxwait"
)

// Owner is how the person holding one phone behaves.
type Owner struct {
	// Email is where the owner is told (the roster's email column).
	Email string
	// Ignore is how many SMS the owner lets pass unanswered before
	// answering (a code that expires leads to a reminder).
	Ignore int
	// Never: the owner never answers.
	Never bool
	// TypoFirst: the owner's first code is typed wrong, then right.
	TypoFirst bool
}

// PageOwnersParams configure PageOwners.
type PageOwnersParams struct {
	// Mail holds the owners' mailboxes.
	Mail *MailServer
	// CloudURL is the sandbox's base URL: each owner reads
	// /sandbox/phones/{phone}/sms, the phone's own view (code and time).
	CloudURL string
	// LinkPath is the path owner links begin with (web.OwnerPath): the
	// owner takes the URL line of the email under it.
	LinkPath string
	// Phones are the owners by normalized phone number.
	Phones map[string]Owner
	// Think is how long an owner takes to read and type a code; nil: at
	// once.
	Think func() time.Duration
	// Poll is how often an owner looks at the mailbox and the phone;
	// default 20ms.
	Poll time.Duration
	// Client makes the requests; default one with a 30 s timeout.
	Client *http.Client
}

// PageOwners simulate the people holding the phones as the product meets
// them: each waits for the email with the owner link, reads each new SMS
// on the phone, opens the owner page and posts its form (code, form token,
// the page's Origin). No operator step and no API token are involved.
type PageOwners struct {
	p      PageOwnersParams
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	statuses map[int]int
	handed   []string
	links    map[string]string
}

// StartPageOwners starts one owner per phone; Stop ends them.
func StartPageOwners(ctx context.Context, p PageOwnersParams) *PageOwners {
	if p.Poll <= 0 {
		p.Poll = 20 * time.Millisecond
	}
	if p.Client == nil {
		p.Client = &http.Client{Timeout: 30 * time.Second}
	}
	if p.Think == nil {
		p.Think = func() time.Duration { return 0 }
	}
	ctx, cancel := context.WithCancel(ctx)
	o := &PageOwners{p: p, cancel: cancel, statuses: map[int]int{}, links: map[string]string{}}
	for ph, ow := range p.Phones {
		o.wg.Add(1)
		go func() {
			defer o.wg.Done()
			o.run(ctx, ph, ow)
		}()
	}
	return o
}

// Stop ends every owner and waits for the answers in flight.
func (o *PageOwners) Stop() {
	o.cancel()
	o.wg.Wait()
}

// Statuses counts the owner page's answers to the codes handed in, by HTTP
// status (after the page's redirect).
func (o *PageOwners) Statuses() map[int]int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return maps.Clone(o.statuses)
}

// Handed returns every code handed in, wrong ones included.
func (o *PageOwners) Handed() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.handed...)
}

// Link returns the owner link phone's owner took from the email, if any.
func (o *PageOwners) Link(phone string) string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.links[phone]
}

// run is one owner: answer each new SMS once the link has come.
func (o *PageOwners) run(ctx context.Context, ph string, ow Owner) {
	if ow.Never {
		return
	}
	seen, typoed := 0, false
	for o.wait(ctx) {
		link := o.linkFor(ph, ow.Email)
		if link == "" {
			continue
		}
		view, err := o.phoneView(ctx, ph)
		if err != nil {
			continue
		}
		for _, code := range view[min(seen, len(view)):] {
			seen++
			if seen <= ow.Ignore || !ctxwait.Sleep(ctx, o.p.Think()) {
				continue
			}
			if ow.TypoFirst && !typoed {
				typoed = true
				o.hand(ctx, link, Typo(code))
				if !ctxwait.Sleep(ctx, o.p.Think()) {
					return
				}
			}
			o.hand(ctx, link, code)
		}
	}
}

func (o *PageOwners) wait(ctx context.Context) bool { return ctxwait.Sleep(ctx, o.p.Poll) }

// linkFor returns the link of the latest email to address, as the owner
// keeps it.
func (o *PageOwners) linkFor(ph, address string) string {
	mails := o.p.Mail.MailsTo(address)
	for i := len(mails) - 1; i >= 0; i-- {
		if l, ok := mails[i].LinkIn(o.p.LinkPath); ok {
			o.mu.Lock()
			o.links[ph] = l
			o.mu.Unlock()
			return l
		}
	}
	return ""
}

// phoneView returns the codes on ph's screen, oldest first.
func (o *PageOwners) phoneView(ctx context.Context, ph string) ([]string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, o.p.CloudURL+"/sandbox/phones/"+url.PathEscape(ph)+"/sms", nil)
	if err != nil {
		return nil, err
	}
	resp, err := o.p.Client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var view []struct {
		Code string `json:"code"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&view); err != nil {
		return nil, err
	}
	codes := make([]string, len(view))
	for i, v := range view {
		codes[i] = v.Code
	}
	return codes, nil
}

// hand opens the owner page at link and posts code with the page's form.
func (o *PageOwners) hand(ctx context.Context, link, code string) {
	status, err := PostOwnerPage(ctx, o.p.Client, link, code)
	if err != nil {
		status = 0
	}
	o.mu.Lock()
	o.statuses[status]++
	o.handed = append(o.handed, code)
	o.mu.Unlock()
}

var formToken = regexp.MustCompile(`name="t" value="([^"]+)"`)

// PostOwnerPage hands code in on the owner page at link as a browser
// would: it loads the page, then posts its form with the form token and
// the page's Origin. It returns the status of the page shown afterwards.
func PostOwnerPage(ctx context.Context, client *http.Client, link, code string) (int, error) {
	page, status, err := get(ctx, client, link)
	if err != nil {
		return 0, err
	}
	m := formToken.FindStringSubmatch(page)
	if m == nil {
		return status, fmt.Errorf("owner page (status %d) has no code form", status)
	}
	u, err := url.Parse(link)
	if err != nil {
		return 0, err
	}
	form := url.Values{"code": {code}, "t": {m[1]}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, link, strings.NewReader(form.Encode()))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", u.Scheme+"://"+u.Host)
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

func get(ctx context.Context, client *http.Client, u string) (string, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", 0, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), resp.StatusCode, err
}

// Typo returns code with its last two digits swapped, or the last one
// changed when they are the same.
func Typo(code string) string {
	b := []byte(code)
	n := len(b)
	if n < 2 {
		return code + "0"
	}
	if b[n-2] == b[n-1] {
		b[n-1] = '0' + (b[n-1]-'0'+1)%10
	} else {
		b[n-2], b[n-1] = b[n-1], b[n-2]
	}
	return string(b)
}
