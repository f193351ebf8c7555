package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/hibiken/asynq"

	"github.com/rdonboard/rdonboard/internal/httpapi"
	"github.com/rdonboard/rdonboard/internal/intake"
	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/internal/redistest"
)

// listAPI is the API over a store of 2,000 members in batch north (300 of
// them cancelled) and 1,000 in batch south.
func listAPI(t *testing.T) string {
	t.Helper()
	rdb := redistest.DB(t)
	store := member.New(rdb, member.Options{})
	ctx := context.Background()
	var cands []member.Candidate
	for i := range 3000 {
		batch := "north"
		if i >= 2000 {
			batch = "south"
		}
		cands = append(cands, member.Candidate{AccountID: fmt.Sprintf("10000000%08d", i), Phone: fmt.Sprintf("86-139%08d", i), Batch: batch})
	}
	if _, err := store.Admit(ctx, cands, member.AdmitOptions{}); err != nil {
		t.Fatal(err)
	}
	cancelled := make([]string, 300)
	for i := range cancelled {
		cancelled[i] = cands[i*5].AccountID
	}
	if _, err := store.Cancel(ctx, cancelled, "test"); err != nil {
		t.Fatal(err)
	}
	api := httpapi.New(httpapi.Params{Store: store, Intake: intake.New(store, asynq.NewClientFromRedisClient(rdb), 5), Redis: rdb, Token: hostileToken})
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	return srv.URL
}

// listPages follows the next links of GET /v1/members from query and
// returns the account IDs of each page.
func listPages(t *testing.T, base, query string) [][]string {
	t.Helper()
	var pages [][]string
	for next := "/v1/members?" + query; next != ""; {
		var list []member.View
		var err error
		next, err = getPage(t, base+next, &list)
		if err != nil {
			t.Fatal(err)
		}
		ids := make([]string, len(list))
		for i, v := range list {
			ids[i] = v.AccountID
		}
		pages = append(pages, ids)
		if len(pages) > 100 {
			t.Fatal("more than 100 pages: the cursor does not move on")
		}
	}
	return pages
}

// getPage reads one page of the member list into list and returns the
// path and query of the next page, or "" on the last one.
func getPage(t *testing.T, u string, list *[]member.View) (string, error) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Authorization", "Bearer "+hostileToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(list); resp.StatusCode != http.StatusOK || err != nil {
		return "", fmt.Errorf("GET %s: %d (%v)", u, resp.StatusCode, err)
	}
	link, cursor := resp.Header.Get("Link"), resp.Header.Get("X-Next-Cursor")
	if link == "" {
		if cursor != "" {
			return "", fmt.Errorf("X-Next-Cursor without a Link header at %s", u)
		}
		return "", nil
	}
	target, ok := strings.CutSuffix(strings.TrimPrefix(link, "<"), `>; rel="next"`)
	if q, _ := url.Parse(target); !ok || q.Query().Get("cursor") != cursor {
		return "", fmt.Errorf("Link %q and X-Next-Cursor %q disagree", link, cursor)
	}
	return target, nil
}

// TestMemberListIsPaged lists 3,000 members: without a limit a page holds
// httpapi.MembersLimit, following the next links reads each member once
// and the last page has no link; the filters hold across pages, and a bad
// limit or cursor is refused naming it.
func TestMemberListIsPaged(t *testing.T) {
	t.Parallel()
	base := listAPI(t)
	cases := []struct {
		query string
		total int
		pages []int // sizes of the pages that hold members
	}{
		{"", 3000, []int{1000, 1000, 1000}},
		{"limit=700", 3000, []int{700, 700, 700, 700, 200}},
		{"limit=10000", 3000, []int{3000}},
		{"batch=south&limit=400", 1000, []int{400, 400, 200}},
		{"state=cancelled&limit=128", 300, []int{128, 128, 44}},
		{"batch=north&state=pending&limit=1000", 1700, []int{1000, 700}},
	}
	for _, c := range cases {
		pages := listPages(t, base, c.query)
		seen, sizes := map[string]bool{}, []int{}
		for _, p := range pages {
			if len(p) > 0 {
				sizes = append(sizes, len(p))
			}
			for _, id := range p {
				if seen[id] {
					t.Errorf("%q: member %s on two pages", c.query, id)
				}
				seen[id] = true
			}
		}
		if len(seen) != c.total || fmt.Sprint(sizes) != fmt.Sprint(c.pages) {
			t.Errorf("%q: %d members in pages of %v, want %d in %v", c.query, len(seen), sizes, c.total, c.pages)
		}
	}
	var first []member.View
	next, err := getPage(t, base+"/v1/members?batch=north&limit=1000", &first)
	u, _ := url.Parse(next)
	if err != nil || next == "" {
		t.Fatalf("first page of batch north: next %q, %v", next, err)
	}
	status, _, raw := call(t, http.MethodGet, base+"/v1/members?batch=south&cursor="+u.Query().Get("cursor"), hostileToken, "")
	if status != http.StatusBadRequest {
		t.Errorf("cursor of batch north with batch=south: %d %s, want 400", status, raw)
	}
	for _, q := range []string{"limit=0", "limit=10001", "limit=ten", "cursor=bm90LWEtY3Vyc29y", "state=done"} {
		status, obj, raw := call(t, http.MethodGet, base+"/v1/members?"+q, hostileToken, "")
		field, _, _ := strings.Cut(q, "=")
		if msg, _ := obj["error"].(string); status != http.StatusBadRequest || !strings.Contains(msg, field) {
			t.Errorf("GET /v1/members?%s: %d %s, want 400 naming %s", q, status, raw, field)
		}
	}
}
