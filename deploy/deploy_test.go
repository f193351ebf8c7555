// Package deploy_test checks the deployment files of deploy/ against the
// worker they run: the image builds as `make build` does, the compose file
// and the Kubernetes base load in their own tools' types, and every stop
// grace period leaves the worker its shutdown timeout. No container engine
// runs in these tests: what needs one (building the image, starting the
// stack) is left to the operator's first `docker compose up`.
package deploy_test

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rdonboard/rdonboard/internal/worker"
)

// TestDockerfileBuildsAsMakeBuild keeps the image's binaries the ones
// `make build` makes: the same go build command, flags and all.
func TestDockerfileBuildsAsMakeBuild(t *testing.T) {
	t.Parallel()
	lines := dockerfile(t)
	var build string
	for _, l := range lines {
		if strings.HasPrefix(l, "RUN ") && strings.Contains(l, "go build") {
			build = strings.TrimPrefix(l, "RUN ")
		}
	}
	out, err := exec.Command("make", "-s", "-n", "-C", "..", "build", "BIN=/out", "GO=go").Output()
	if err != nil {
		t.Fatalf("make -n build: %v", err)
	}
	if want := strings.TrimSpace(string(out)); build != want {
		t.Errorf("Dockerfile builds with\n  %s\nmake build with\n  %s", build, want)
	}
	if !strings.Contains(build, "CGO_ENABLED=0") {
		t.Errorf("binaries are not static: %s", build)
	}
}

// TestDockerfileRunsAsNobody checks the final stage: a minimal base, a
// non-root user, the HTTP port, and no HEALTHCHECK of its own.
func TestDockerfileRunsAsNobody(t *testing.T) {
	t.Parallel()
	lines := dockerfile(t)
	var froms []string
	final := map[string]string{}
	for _, l := range lines {
		word, rest, _ := strings.Cut(l, " ")
		if word == "FROM" {
			froms = append(froms, rest)
			clear(final)
		}
		final[word] = rest
	}
	if len(froms) < 2 {
		t.Fatalf("Dockerfile has %d stages, want a build stage and a runtime stage", len(froms))
	}
	if base := froms[len(froms)-1]; !strings.HasPrefix(base, "gcr.io/distroless/static") && base != "scratch" {
		t.Errorf("runtime base %q: want distroless static or scratch", base)
	}
	if u := final["USER"]; u == "" || strings.HasPrefix(u, "0") || strings.HasPrefix(u, "root") {
		t.Errorf("USER %q: want a non-root user", u)
	}
	if final["EXPOSE"] != "8080" {
		t.Errorf("EXPOSE %q, want 8080", final["EXPOSE"])
	}
	if _, ok := final["HEALTHCHECK"]; ok {
		t.Error("HEALTHCHECK in the image: the orchestrator probes /healthz and /readyz")
	}
}

// dockerfile returns the instructions of deploy/Dockerfile, continuation
// lines joined, comments dropped.
func dockerfile(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	var cur strings.Builder
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		if more, ok := strings.CutSuffix(l, "\\"); ok {
			cur.WriteString(strings.TrimSpace(more) + " ")
			continue
		}
		cur.WriteString(l)
		lines = append(lines, cur.String())
		cur.Reset()
	}
	return lines
}

// TestSystemdUnit checks the unit's hardening and that systemd waits at
// least the worker's shutdown timeout before it kills a draining worker.
func TestSystemdUnit(t *testing.T) {
	t.Parallel()
	const path = "systemd/rdonboard-worker.service"
	keys := unitKeys(t, path)
	want := map[string]string{
		"NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes",
		"PrivateTmp": "yes", "Restart": "on-failure", "EnvironmentFile": "/etc/rdonboard/worker.env",
	}
	for k, v := range want {
		if keys[k] != v {
			t.Errorf("%s=%q, want %q", k, keys[k], v)
		}
	}
	if keys["DynamicUser"] != "yes" && (keys["User"] == "" || keys["User"] == "root") {
		t.Error("the unit runs as root: want DynamicUser=yes or a User of its own")
	}
	stop, err := time.ParseDuration(keys["TimeoutStopSec"])
	if err != nil || stop < worker.ShutdownTimeout || stop > worker.ShutdownTimeout+10*time.Second {
		t.Errorf("TimeoutStopSec=%q: want the shutdown timeout %s plus at most 10s", keys["TimeoutStopSec"], worker.ShutdownTimeout)
	}
	verifyUnit(t, path)
}

// verifyUnit runs systemd-analyze verify on a copy of the unit whose
// ExecStart points at an executable in a temporary directory: the real
// binary is not installed here, and that is the one complaint verify would
// otherwise make.
func verifyUnit(t *testing.T, path string) {
	t.Helper()
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Log("systemd-analyze not installed: unit not verified")
		return
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "rdonboard-worker")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	unit := strings.ReplaceAll(string(data), "/usr/local/bin/rdonboard-worker", bin)
	copyPath := filepath.Join(dir, filepath.Base(path))
	if err := os.WriteFile(copyPath, []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", copyPath).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

var unitLine = regexp.MustCompile(`^([A-Za-z]+)=(.*)$`)

// unitKeys returns the unit file's settings (the last one of each name).
func unitKeys(t *testing.T, path string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]string{}
	for _, l := range strings.Split(string(data), "\n") {
		if m := unitLine.FindStringSubmatch(strings.TrimSpace(l)); m != nil {
			keys[m[1]] = m[2]
		}
	}
	return keys
}
