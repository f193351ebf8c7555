package discover_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rdonboard/rdonboard/internal/cloud"
	"github.com/rdonboard/rdonboard/internal/cloudcall"
	"github.com/rdonboard/rdonboard/internal/discover"
	"github.com/rdonboard/rdonboard/internal/ratelimit"
	"github.com/rdonboard/rdonboard/internal/redistest"
	"github.com/rdonboard/rdonboard/internal/roster"
	"github.com/rdonboard/rdonboard/internal/sandbox"
	"github.com/rdonboard/rdonboard/internal/sandbox/sandboxtest"
)

func TestMain(m *testing.M) { redistest.Main(m) }

// Rates of the tests: the sandbox's quotas and the shared limiter agree,
// high enough to keep the tests fast.
const (
	getRate  = 2000
	listRate = 200
)

// rig is a sandbox directory behind the real SDK, and a real Redis.
type rig struct {
	dir *sandbox.Directory
	sb  *sandbox.Server
	sdk *cloud.SDK
	rdb *redis.Client

	mu     sync.Mutex
	asked  []string // GetAccount's account IDs, in order
	onCall func(sandbox.Call)
}

func setup(t *testing.T, spec sandbox.DirectorySpec, faults sandbox.Faults) *rig {
	t.Helper()
	r := &rig{dir: sandbox.GenerateDirectory(spec), rdb: redistest.DB(t)}
	var err error
	var srv *httptest.Server
	r.sb, srv = sandboxtest.Start(t, sandbox.Options{Directory: r.dir, GetQPS: getRate, ListQPS: listRate,
		ListForParentQPS: listRate, Faults: faults, OnCall: r.observe})
	r.sdk, err = cloud.New(cloud.Config{Endpoint: srv.URL, AccessKeyID: sandbox.DefaultAccessKeyID,
		AccessKeySecret: sandbox.DefaultAccessKeySecret, ReadTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.sdk.Close)
	return r
}

func (r *rig) observe(c sandbox.Call) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c.Action == sandbox.ActionGetAccount {
		r.asked = append(r.asked, c.AccountID)
	}
	if r.onCall != nil {
		r.onCall(c)
	}
}

// takeAsked returns the accounts GetAccount was asked about since the last
// call.
func (r *rig) takeAsked() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.asked
	r.asked = nil
	return out
}

// run runs a discovery with a Caller of its own, as one `enqueue
// discover` process would.
func (r *rig) run(ctx context.Context, opts discover.Options) (discover.Result, error) {
	limiter := ratelimit.New(r.rdb, ratelimit.Options{Rates: map[string]float64{
		cloud.ActionGetAccount: getRate, cloud.ActionListAccounts: listRate, cloud.ActionListAccountsForParent: listRate}})
	caller := cloudcall.New(cloudcall.Params{Client: r.sdk, Limiter: limiter, Mode: cloudcall.Wait})
	return discover.Run(ctx, discover.Params{Caller: caller, Redis: r.rdb,
		After: func(time.Duration) <-chan time.Time { return time.After(0) }}, opts)
}

// unbound returns the resource accounts without a phone among members, in
// order: what the template must hold.
func unbound(members []sandbox.DirectoryMember) []string {
	var ids []string
	for _, m := range members {
		if m.Type == sandbox.TypeResourceAccount && !m.HasPhone {
			ids = append(ids, m.ID)
		}
	}
	return ids
}

func ids(found []discover.Found) []string {
	out := make([]string, len(found))
	for i, f := range found {
		out[i] = f.AccountID
	}
	return out
}

func resourceCount(members []sandbox.DirectoryMember) int {
	n := 0
	for _, m := range members {
		if m.Type == sandbox.TypeResourceAccount {
			n++
		}
	}
	return n
}

var bigDirectory = sandbox.DirectorySpec{Accounts: 3000, Width: 3, Depth: 3, CloudEvery: 10, BoundEvery: 4}

func TestDiscoverFindsExactlyTheUnboundResourceAccounts(t *testing.T) {
	t.Parallel()
	r := setup(t, bigDirectory, sandbox.Faults{})
	res, err := r.run(context.Background(), discover.Options{})
	if err != nil {
		t.Fatal(err)
	}
	members := r.dir.Members()
	want := unbound(members)
	if got := ids(res.Found); !slices.Equal(got, want) {
		t.Fatalf("found %d members, want the %d unbound resource accounts in listing order", len(got), len(want))
	}
	resources, pages := resourceCount(members), (len(members)+cloud.MaxPageSize-1)/cloud.MaxPageSize
	s := res.Summary
	if s.Members != 3000 || s.ResourceAccounts != resources || s.WithoutPhone != len(want) ||
		s.AlreadyBound != resources-len(want) || s.Unchecked != 0 || s.Remembered != 0 {
		t.Errorf("summary %+v", s)
	}
	if s.Calls[cloud.ActionListAccounts] != pages || s.Calls[cloud.ActionGetAccount] != resources || s.TotalCalls() != pages+resources {
		t.Errorf("calls %v, want %d pages and %d GetAccount", s.Calls, pages, resources)
	}
	st := r.sb.Stats()
	if st.Calls[sandbox.ActionGetAccount]["ok"] != resources || st.Calls[sandbox.ActionListAccounts]["ok"] != pages {
		t.Errorf("the cloud answered %v", st.Calls)
	}
	if n := st.QuotaRejections[sandbox.ActionGetAccount] + st.QuotaRejections[sandbox.ActionListAccounts]; n != 0 {
		t.Errorf("%d calls over quota at the configured rate", n)
	}
	byID := map[string]sandbox.DirectoryMember{}
	for _, m := range members {
		byID[m.ID] = m
	}
	for _, f := range res.Found {
		m := byID[f.AccountID]
		if f.DisplayName != m.DisplayName || f.FolderPath+"/"+m.ID != m.Path {
			t.Fatalf("found %+v, want name %q and the path of %s", f, m.DisplayName, m.Path)
		}
	}
}

func TestDiscoverOneFolder(t *testing.T) {
	t.Parallel()
	r := setup(t, bigDirectory, sandbox.Faults{})
	folder := r.dir.Root.Folders[1].Folders[2].ID
	var in []sandbox.DirectoryMember
	for _, m := range r.dir.Members() {
		if m.FolderID == folder {
			in = append(in, m)
		}
	}
	res, err := r.run(context.Background(), discover.Options{Folder: folder})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ids(res.Found), unbound(in); len(want) == 0 || !slices.Equal(got, want) {
		t.Fatalf("found %v, want %v", got, want)
	}
	s := res.Summary
	if s.Members != len(in) || s.Calls[cloud.ActionListAccountsForParent] != 1 ||
		s.Calls[cloud.ActionGetAccount] != resourceCount(in) || s.Calls[cloud.ActionListAccounts] != 0 {
		t.Errorf("summary %+v for %d members", s, len(in))
	}
	_, err = r.run(context.Background(), discover.Options{Folder: "fd-nope"})
	if cloud.KindOf(err) != cloud.KindPermanent {
		t.Errorf("unknown folder: %v", err)
	}
}

func TestInterruptedDiscoverAsksOnlyAboutTheRest(t *testing.T) {
	t.Parallel()
	r := setup(t, bigDirectory, sandbox.Faults{})
	const stopAfter = 1000
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	r.onCall = func(c sandbox.Call) {
		if c.Action == sandbox.ActionGetAccount {
			if n++; n == stopAfter {
				cancel()
			}
		}
	}
	if _, err := r.run(ctx, discover.Options{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: %v", err)
	}
	first := r.takeAsked()
	r.mu.Lock()
	r.onCall = nil
	r.mu.Unlock()

	res, err := r.run(context.Background(), discover.Options{})
	if err != nil {
		t.Fatal(err)
	}
	second := r.takeAsked()
	resources := resourceCount(r.dir.Members())
	s := res.Summary
	// Calls of the first run still in flight when it was cancelled may
	// reach the cloud after it returned: the sandbox's log of the second
	// run can hold a few of them, its own count cannot.
	if s.Remembered < stopAfter-2*discover.DefaultWorkers || s.Calls[cloud.ActionGetAccount] != resources-s.Remembered {
		t.Errorf("second run: %d remembered, %d calls of %d; the first asked %d",
			s.Remembered, s.Calls[cloud.ActionGetAccount], resources, len(first))
	}
	if asked := len(first) + len(second); asked > resources+2*discover.DefaultWorkers {
		t.Errorf("%d GetAccount calls over both runs for %d resource accounts", asked, resources)
	}
	if got, want := ids(res.Found), unbound(r.dir.Members()); !slices.Equal(got, want) {
		t.Errorf("second run found %d, want %d", len(got), len(want))
	}
	ttl := r.rdb.TTL(context.Background(), "discover:checked:"+res.Found[0].AccountID).Val()
	if ttl <= 59*time.Minute || ttl > time.Hour {
		t.Errorf("an answer is remembered for %v, want an hour", ttl)
	}
}

func TestCallerWideRefusalStopsTheRunWithItsRemedy(t *testing.T) {
	t.Parallel()
	faults := sandbox.Faults{Errors: []sandbox.ErrorFault{{Action: sandbox.ActionGetAccount, Code: "Forbidden.RAM"}}}
	r := setup(t, sandbox.DirectorySpec{Accounts: 500}, faults)
	_, err := r.run(context.Background(), discover.Options{})
	if !errors.Is(err, discover.ErrCallerWide) || !strings.Contains(err.Error(), cloud.Remedy("Forbidden.RAM")) {
		t.Fatalf("run: %v; want the caller-wide refusal with its remedy", err)
	}
	if n := r.sb.Stats().Calls[sandbox.ActionGetAccount]["Forbidden.RAM"]; n > 2*discover.DefaultWorkers {
		t.Errorf("%d GetAccount calls after the caller was refused", n)
	}
}

func TestThrottlesAreWaitedOut(t *testing.T) {
	t.Parallel()
	r := setup(t, sandbox.DirectorySpec{Accounts: 400, CloudEvery: 3, BoundEvery: 5}, sandbox.Faults{ThrottleRate: 0.2})
	res, err := r.run(context.Background(), discover.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ids(res.Found), unbound(r.dir.Members()); !slices.Equal(got, want) {
		t.Errorf("found %d, want %d", len(got), len(want))
	}
	if n := r.sb.Stats().Calls[sandbox.ActionGetAccount]["Throttling.User"]; n == 0 {
		t.Error("no throttle to wait out")
	}
}

func TestGoneMembersAreCountedUnchecked(t *testing.T) {
	t.Parallel()
	members := sandbox.GenerateDirectory(sandbox.DirectorySpec{Accounts: 50}).Members()
	gone := members[7].ID
	r := setup(t, sandbox.DirectorySpec{Accounts: 50}, sandbox.Faults{Accounts: map[string]sandbox.AccountFault{gone: {Missing: true}}})
	res, err := r.run(context.Background(), discover.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Summary.Unchecked != 1 || slices.Contains(ids(res.Found), gone) || res.Summary.WithoutPhone != 49 {
		t.Errorf("summary %+v", res.Summary)
	}
}

func TestTemplateIsARosterToFillIn(t *testing.T) {
	t.Parallel()
	found := []discover.Found{
		{AccountID: "1100000000000000", DisplayName: "成员-财务, 生产", FolderPath: "rd-gen/r-gen/fd-gen-0"},
		{AccountID: "1100000000000001", DisplayName: `=HYPERLINK("http://x")`, FolderPath: "rd-gen/r-gen"},
		{AccountID: "1100000000000002", DisplayName: "-1+2", FolderPath: "rd-gen/r-gen"},
	}
	var buf bytes.Buffer
	if err := discover.WriteTemplate(&buf, found); err != nil {
		t.Fatal(err)
	}
	want := "\ufeffaccount_id,display_name,folder_path,mobile_phone,email\n" +
		"1100000000000000,\"成员-财务, 生产\",rd-gen/r-gen/fd-gen-0,,\n" +
		"1100000000000001,\"'=HYPERLINK(\"\"http://x\"\")\",rd-gen/r-gen,,\n" +
		"1100000000000002,'-1+2,rd-gen/r-gen,,\n"
	if buf.String() != want {
		t.Fatalf("template:\n%s\nwant:\n%s", buf.String(), want)
	}
	// Filled in, it is a roster.
	filled := strings.Replace(buf.String(), "fd-gen-0,,", "fd-gen-0,+86 139 0000 1234,ann@example.com", 1)
	rd, err := roster.NewReader(strings.NewReader(filled))
	if err != nil {
		t.Fatal(err)
	}
	row, err := rd.Next()
	if err != nil || row.Reject != "" || row.Phone != "86-13900001234" || row.DisplayName != "成员-财务, 生产" || row.Email != "ann@example.com" {
		t.Errorf("first row read back: %+v, %v", row, err)
	}
	for {
		row, err := rd.Next()
		if err == io.EOF {
			break
		}
		if row.Reject != "missing mobile_phone" {
			t.Errorf("row not filled in: %+v", row)
		}
	}
}
