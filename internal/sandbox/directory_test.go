package sandbox_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rdonboard/rdonboard/internal/sandbox"
)

// smallDirectory is two folders deep, with every kind of member.
const smallDirectory = `{
  "id": "rd-3f2a",
  "root": {
    "id": "r-root", "name": "Root",
    "accounts": [{"id": "1000000000000001", "display_name": "management", "type": "CloudAccount"}],
    "folders": [{
      "id": "fd-prod", "name": "prod",
      "accounts": [
        {"id": "1000000000000002", "display_name": "支付-生产"},
        {"id": "1000000000000003", "display_name": "prod-db", "has_phone": true}
      ],
      "folders": [{"id": "fd-prod-eu", "accounts": [{"id": "1000000000000004", "display_name": "eu"}]}]
    }, {"id": "fd-empty"}]
  }
}`

func directoryRig(t *testing.T, opts sandbox.Options) *rig {
	t.Helper()
	d, err := sandbox.ParseDirectory([]byte(smallDirectory))
	if err != nil {
		t.Fatal(err)
	}
	opts.Directory = d
	return setup(t, opts)
}

// listedIDs returns the account IDs of a listing's answer.
func listedIDs(t *testing.T, a reply) []string {
	t.Helper()
	wantOK(t, a)
	var ids []string
	for _, acc := range a.body["Accounts"].(map[string]any)["Account"].([]any) {
		m := acc.(map[string]any)
		if _, ok := m["HasSecureMobilePhone"]; ok {
			t.Errorf("a listing tells HasSecureMobilePhone: %v", m)
		}
		ids = append(ids, m["AccountId"].(string))
	}
	return ids
}

func TestListAccountsPagesThroughTheDirectory(t *testing.T) {
	t.Parallel()
	r := directoryRig(t, sandbox.Options{})
	var all []string
	for page := 1; page <= 3; page++ {
		a := r.call(t, sandbox.ActionListAccounts, map[string]string{"PageNumber": strconv.Itoa(page), "PageSize": "2"})
		if a.body["TotalCount"] != 4.0 || a.body["PageNumber"] != float64(page) || a.body["PageSize"] != 2.0 {
			t.Errorf("page %d: %v", page, a.body)
		}
		all = append(all, listedIDs(t, a)...)
	}
	want := "1000000000000001 1000000000000002 1000000000000003 1000000000000004"
	if got := strings.Join(all, " "); got != want {
		t.Errorf("listed %s, want %s", got, want)
	}
	if ids := listedIDs(t, r.call(t, sandbox.ActionListAccounts, nil)); len(ids) != 4 {
		t.Errorf("default page holds %d accounts, want all 4 (10 to a page)", len(ids))
	}
}

func TestListAccountsForParentListsOneFolder(t *testing.T) {
	t.Parallel()
	r := directoryRig(t, sandbox.Options{})
	for folder, want := range map[string]string{
		"fd-prod": "1000000000000002 1000000000000003", "fd-prod-eu": "1000000000000004", "r-root": "1000000000000001", "fd-empty": "",
	} {
		ids := listedIDs(t, r.call(t, sandbox.ActionListAccountsForParent, map[string]string{"ParentFolderId": folder, "PageSize": "100"}))
		if got := strings.Join(ids, " "); got != want {
			t.Errorf("folder %s lists %q, want %q", folder, got, want)
		}
	}
	wantErr(t, r.call(t, sandbox.ActionListAccountsForParent, map[string]string{"ParentFolderId": "fd-nope"}), 404, "EntityNotExists.Folder")
	wantErr(t, r.call(t, sandbox.ActionListAccountsForParent, nil), 400, "MissingParentFolderId")
	wantErr(t, r.call(t, sandbox.ActionListAccounts, map[string]string{"PageSize": "101"}), 400, "InvalidParameter.PageSize")
	wantErr(t, r.call(t, sandbox.ActionListAccounts, map[string]string{"PageNumber": "0"}), 400, "InvalidParameter.PageNumber")
}

func TestGetAccountAnswersFromTheDirectory(t *testing.T) {
	t.Parallel()
	r := directoryRig(t, sandbox.Options{})
	acc := r.get(t, "1000000000000002").body["Account"].(map[string]any)
	for field, want := range map[string]any{
		"DisplayName": "支付-生产", "FolderId": "fd-prod", "ResourceDirectoryId": "rd-3f2a",
		"ResourceDirectoryPath": "rd-3f2a/r-root/fd-prod/1000000000000002", "Type": "ResourceAccount", "HasSecureMobilePhone": false,
	} {
		if acc[field] != want {
			t.Errorf("%s = %v, want %v", field, acc[field], want)
		}
	}
	if acc := r.get(t, "1000000000000003").body["Account"].(map[string]any); acc["HasSecureMobilePhone"] != true {
		t.Errorf("has_phone member: %v", acc)
	}
	wantErr(t, r.send(t, "1000000000000001", phone), http.StatusConflict, "AccountTypeMismatch")
	wantErr(t, r.send(t, "1000000000000003", phone), http.StatusConflict, "AccountSecureMobileAlreadyExists")
	wantErr(t, r.get(t, "1999999999999999"), http.StatusNotFound, "EntityNotExists.Account")
}

func TestListAccountsQuota(t *testing.T) {
	t.Parallel()
	clk := newClock(time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC))
	r := directoryRig(t, sandbox.Options{Now: clk.Now})
	for range sandbox.DefaultListQPS {
		wantOK(t, r.call(t, sandbox.ActionListAccounts, nil))
	}
	wantErr(t, r.call(t, sandbox.ActionListAccounts, nil), 400, "Throttling.User")
	clk.Advance(time.Second / sandbox.DefaultListQPS)
	wantOK(t, r.call(t, sandbox.ActionListAccounts, nil))
	if n := r.sb.Stats().QuotaRejections[sandbox.ActionListAccounts]; n != 1 {
		t.Errorf("%d quota rejections, want 1", n)
	}
	// Another quota, and one that can be lifted.
	for range sandbox.DefaultListForParentQPS {
		wantOK(t, r.call(t, sandbox.ActionListAccountsForParent, map[string]string{"ParentFolderId": "fd-prod"}))
	}
	wantErr(t, r.call(t, sandbox.ActionListAccountsForParent, map[string]string{"ParentFolderId": "fd-prod"}), 400, "Throttling.User")
	unlimited := directoryRig(t, sandbox.Options{Now: clk.Now, ListQPS: -1})
	for range 3 * sandbox.DefaultListQPS {
		wantOK(t, unlimited.call(t, sandbox.ActionListAccounts, nil))
	}
}

func TestWithoutADirectoryListingsAreEmpty(t *testing.T) {
	t.Parallel()
	r := setup(t, sandbox.Options{})
	a := r.call(t, sandbox.ActionListAccounts, nil)
	if ids := listedIDs(t, a); len(ids) != 0 || a.body["TotalCount"] != 0.0 {
		t.Errorf("listing without a directory: %v", a.body)
	}
	wantOK(t, r.get(t, member))
}

func TestLoadDirectory(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := filepath.Join(dir, "good.json")
	if err := os.WriteFile(good, []byte(smallDirectory), 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := sandbox.LoadDirectory(good)
	if err != nil || len(d.Members()) != 4 {
		t.Fatalf("LoadDirectory: %v, %v", d, err)
	}
	for name, body := range map[string]string{
		"unknown field":   `{"root": {"id": "r", "acounts": []}}`,
		"no folder ID":    `{"root": {"accounts": [{"id": "1"}]}}`,
		"repeated folder": `{"root": {"id": "r", "folders": [{"id": "r"}]}}`,
		"account ID":      `{"root": {"id": "r", "accounts": [{"id": "12ab"}]}}`,
		"repeated member": `{"root": {"id": "r", "accounts": [{"id": "1"}], "folders": [{"id": "f", "accounts": [{"id": "1"}]}]}}`,
		"type":            `{"root": {"id": "r", "accounts": [{"id": "1", "type": "Root"}]}}`,
	} {
		path := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".json")
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := sandbox.LoadDirectory(path); err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: LoadDirectory = %v, want an error naming the file", name, err)
		}
	}
}

func TestGenerateDirectory(t *testing.T) {
	t.Parallel()
	d := sandbox.GenerateDirectory(sandbox.DirectorySpec{Accounts: 1000, Width: 3, Depth: 3, CloudEvery: 10, BoundEvery: 4})
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	members := d.Members()
	folders, cloudAccounts, bound, chinese := map[string]bool{}, 0, 0, 0
	for _, m := range members {
		folders[m.FolderID] = true
		if m.Type == sandbox.TypeCloudAccount {
			cloudAccounts++
		}
		if m.HasPhone {
			bound++
		}
		if strings.ContainsAny(m.DisplayName, "成生测") {
			chinese++
		}
		if strings.Count(m.Path, "/") < 2 || !strings.HasSuffix(m.Path, "/"+m.ID) {
			t.Fatalf("path %q of %s", m.Path, m.ID)
		}
	}
	if len(members) != 1000 || len(folders) != 1+3+9+27 || cloudAccounts != 100 || bound != 250 || chinese == 0 {
		t.Errorf("%d members in %d folders, %d CloudAccounts, %d bound, %d Chinese names",
			len(members), len(folders), cloudAccounts, bound, chinese)
	}
	again := sandbox.GenerateDirectory(sandbox.DirectorySpec{Accounts: 1000, Width: 3, Depth: 3, CloudEvery: 10, BoundEvery: 4})
	if again.Members()[999] != members[999] {
		t.Error("GenerateDirectory is not deterministic")
	}
}
