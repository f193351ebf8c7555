package cloud_test

import (
	"context"
	"testing"

	"github.com/rdonboard/rdonboard/internal/cloud"
	"github.com/rdonboard/rdonboard/internal/sandbox"
	"github.com/rdonboard/rdonboard/internal/sandbox/sandboxtest"
)

func TestListAccountsPagesThroughTheSDK(t *testing.T) {
	t.Parallel()
	dir := sandbox.GenerateDirectory(sandbox.DirectorySpec{Accounts: 250, CloudEvery: 5})
	c, _ := setup(t, sandbox.Options{Directory: dir})
	ctx := context.Background()
	var got []cloud.Account
	for n := 1; ; n++ {
		page, err := c.ListAccounts(ctx, n, cloud.MaxPageSize)
		if err != nil {
			t.Fatalf("page %d: %v", n, err)
		}
		if page.TotalCount != 250 || page.PageNumber != n || page.PageSize != cloud.MaxPageSize || !sandboxtest.RequestIDPattern.MatchString(page.RequestID) {
			t.Fatalf("page %d: %+v", n, page)
		}
		if len(page.Accounts) == 0 {
			break
		}
		got = append(got, page.Accounts...)
	}
	want := dir.Members()
	if len(got) != len(want) {
		t.Fatalf("listed %d accounts, want %d", len(got), len(want))
	}
	for i, m := range want {
		g := got[i]
		if g.AccountID != m.ID || g.DisplayName != m.DisplayName || g.Type != m.Type || g.FolderID != m.FolderID ||
			g.ResourceDirectoryPath != m.Path || g.HasSecureMobilePhone {
			t.Fatalf("account %d = %+v, want %+v", i, g, m)
		}
	}
}

func TestListAccountsForParentAndGetAccountDetails(t *testing.T) {
	t.Parallel()
	dir := sandbox.GenerateDirectory(sandbox.DirectorySpec{Accounts: 40, BoundEvery: 2})
	c, _ := setup(t, sandbox.Options{Directory: dir})
	ctx := context.Background()
	m := dir.Members()[7]
	page, err := c.ListAccountsForParent(ctx, m.FolderID, 1, 10)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, a := range page.Accounts {
		found = found || a.AccountID == m.ID
		if a.FolderID != m.FolderID {
			t.Errorf("%s is in %s, listed under %s", a.AccountID, a.FolderID, m.FolderID)
		}
	}
	if !found || page.TotalCount != len(page.Accounts) {
		t.Errorf("folder %s: %+v lacks %s", m.FolderID, page, m.ID)
	}
	acc, err := c.GetAccount(ctx, m.ID)
	if err != nil || acc.DisplayName != m.DisplayName || acc.FolderID != m.FolderID ||
		acc.ResourceDirectoryPath != m.Path || acc.HasSecureMobilePhone != m.HasPhone {
		t.Errorf("GetAccount = %+v, %v; want %+v", acc, err, m)
	}
	_, err = c.ListAccountsForParent(ctx, "fd-nope", 1, 10)
	wantError(t, err, cloud.KindPermanent, "EntityNotExists.Folder")
}

func TestListPagingIsCheckedBeforeCalling(t *testing.T) {
	t.Parallel()
	c, sb := setup(t, sandbox.Options{})
	ctx := context.Background()
	for _, p := range [][2]int{{0, 10}, {1, 0}, {1, cloud.MaxPageSize + 1}} {
		_, err := c.ListAccounts(ctx, p[0], p[1])
		wantError(t, err, cloud.KindPermanent, "InvalidParameter.Paging")
	}
	if n := len(sb.Stats().Calls); n != 0 {
		t.Errorf("the sandbox saw %d actions", n)
	}
}

func TestListQuotaIsThrottled(t *testing.T) {
	t.Parallel()
	c, _ := setup(t, sandbox.Options{ListQPS: 1, Now: frozen()})
	ctx := context.Background()
	if _, err := c.ListAccounts(ctx, 1, 10); err != nil {
		t.Fatal(err)
	}
	_, err := c.ListAccounts(ctx, 1, 10)
	wantError(t, err, cloud.KindThrottled, "Throttling.User")
}
