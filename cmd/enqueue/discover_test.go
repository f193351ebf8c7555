package main

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rdonboard/rdonboard/internal/buildtest"
	"github.com/rdonboard/rdonboard/internal/cli/clitest"
	"github.com/rdonboard/rdonboard/internal/redistest"
	"github.com/rdonboard/rdonboard/internal/sandbox"
	"github.com/rdonboard/rdonboard/internal/sandbox/sandboxtest"
)

// discoverRig serves a generated directory from a sandbox.
func discoverRig(t *testing.T, spec sandbox.DirectorySpec, faults sandbox.Faults) (*sandbox.Directory, *sandbox.Server, string) {
	t.Helper()
	dir := sandbox.GenerateDirectory(spec)
	sb, srv := sandboxtest.Start(t, sandbox.Options{Directory: dir, GetQPS: 1000, ListQPS: 100, Faults: faults})
	return dir, sb, srv.URL
}

// runDiscover runs the enqueue binary's discover against the sandbox at
// cloudURL, at the sandbox's quotas.
func runDiscover(t *testing.T, redisURL, cloudURL string, args ...string) buildtest.Result {
	t.Helper()
	env := []string{"ONBOARD_CLOUD_ENDPOINT=" + cloudURL,
		"ALIBABA_CLOUD_ACCESS_KEY_ID=" + sandbox.DefaultAccessKeyID, "ALIBABA_CLOUD_ACCESS_KEY_SECRET=" + sandbox.DefaultAccessKeySecret,
		"ONBOARD_GET_QPS=1000", "ONBOARD_LIST_QPS=100"}
	return clitest.Run(t, "enqueue", redisURL, env, append([]string{"discover"}, args...)...)
}

func TestDiscoverWritesTheTemplateOfMembersWithoutAPhone(t *testing.T) {
	t.Parallel()
	dir, sb, cloudURL := discoverRig(t, sandbox.DirectorySpec{Accounts: 1200, CloudEvery: 10, BoundEvery: 3}, sandbox.Faults{})
	out := filepath.Join(t.TempDir(), "todo.csv")
	r := runDiscover(t, redistest.URL(t), cloudURL, "--out", out)
	if r.Code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", r.Code, r.Stderr)
	}
	var want []string
	resources := 0
	for _, m := range dir.Members() {
		if m.Type == sandbox.TypeResourceAccount {
			resources++
			if !m.HasPhone {
				want = append(want, m.ID)
			}
		}
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(rows[0], ",") != "\ufeffaccount_id,display_name,folder_path,mobile_phone,email" {
		t.Errorf("header %q", rows[0])
	}
	var got []string
	for _, row := range rows[1:] {
		got = append(got, row[0])
		if row[3] != "" || row[4] != "" {
			t.Errorf("row %v: mobile_phone and email are the operator's to fill", row)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("template holds %d members, want the %d without a phone", len(got), len(want))
	}
	line := "1200 members: 1080 resource accounts, 360 already bound, 720 without a phone (written to " + out + ")\n" +
		"1092 cloud calls: 12 listing pages, 1080 GetAccount; 0 answers of the last hour reused, 0 members not checked\n"
	if resources != 1080 || len(want) != 720 || r.Stdout != line {
		t.Errorf("stdout %q, want %q", r.Stdout, line)
	}
	if n := sb.Stats().QuotaRejections[sandbox.ActionGetAccount]; n != 0 {
		t.Errorf("%d GetAccount calls over quota", n)
	}
}

func TestDiscoverReportsACallerWideRefusalWithItsRemedy(t *testing.T) {
	t.Parallel()
	faults := sandbox.Faults{Errors: []sandbox.ErrorFault{{Action: sandbox.ActionListAccounts, Code: "Forbidden.RAM"}}}
	_, _, cloudURL := discoverRig(t, sandbox.DirectorySpec{Accounts: 10}, faults)
	out := filepath.Join(t.TempDir(), "todo.csv")
	r := runDiscover(t, redistest.URL(t), cloudURL, "--out", out)
	if r.Code != 2 || !strings.Contains(r.Stderr, "AliyunResourceDirectoryFullAccess") || strings.Count(r.Stderr, "enqueue: ") != 1 {
		t.Errorf("exit %d, stderr:\n%s\nwant 2 and the remedy, once", r.Code, r.Stderr)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a template was written: %v", err)
	}
}

func TestDiscoverWithoutRedisOrCloud(t *testing.T) {
	t.Parallel()
	_, _, cloudURL := discoverRig(t, sandbox.DirectorySpec{Accounts: 10}, sandbox.Faults{})
	if r := runDiscover(t, "redis://"+redistest.DownAddr(t), cloudURL); r.Code != 2 {
		t.Errorf("Redis down: exit %d, stderr:\n%s", r.Code, r.Stderr)
	}
	r := runDiscover(t, redistest.URL(t), "http://"+redistest.DownAddr(t), "--out", filepath.Join(t.TempDir(), "x.csv"))
	if r.Code != 2 || !strings.Contains(r.Stderr, "Connection") {
		t.Errorf("cloud down: exit %d, stderr:\n%s", r.Code, r.Stderr)
	}
}
