package reliability

import (
	"encoding/json"
	"net"
	"net/url"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rdonboard/rdonboard/internal/localca"
	"github.com/rdonboard/rdonboard/internal/logbuf"
	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/internal/testwait"
)

// TestRedisWithPasswordAndTLS runs the worker, `enqueue members` and
// `worker status` against a redis-server that speaks only TLS
// (rediss://, a private CA given with ONBOARD_REDIS_CA_FILE) and wants a
// password: the batch completes as over plain TCP.
func TestRedisWithPasswordAndTLS(t *testing.T) {
	t.Parallel()
	const password = "tls-pw-reliability-51c2"
	redisURL, caFile := startTLSRedis(t, password)
	r := newRig(t, rigOptions{RedisURL: redisURL, RedisCAFile: caFile})
	w := r.startWorker()
	r.startOwners(w)
	rows := members(0, 20)
	r.enqueueRows("tls", rows)
	r.waitFor(time.Minute, "every member terminal", terminal(int64(len(rows))), nil)
	r.requireAllBound(rows, 1)

	run := runCLI(t, bin.worker, childEnv(r.producerEnv()), "status", "--format", "json")
	var views []member.View
	if err := json.Unmarshal([]byte(run.stdout), &views); run.code != 0 || err != nil || len(views) != len(rows) {
		t.Errorf("worker status: exit %d, %d members (%v), want 0 and %d\n%s", run.code, len(views), err, len(rows), run.stderr)
	}
	untrusted := r.producerEnv()
	delete(untrusted, "ONBOARD_REDIS_CA_FILE")
	run = runCLI(t, bin.enqueue, childEnv(untrusted), "members", writeRoster(t, "untrusted", members(100, 1)))
	if run.code != 2 || !strings.Contains(run.stderr, "certificate") {
		t.Errorf("enqueue without the CA file: exit %d, want 2 and a certificate error\n%s", run.code, run.stderr)
	}
	if strings.Contains(r.allLogs()+run.stderr, password) {
		t.Errorf("the logs show the Redis password")
	}
}

// startTLSRedis starts a redis-server listening only with TLS, on a server
// certificate of a CA made for the test, and returns its rediss:// URL and
// the CA's PEM file. It skips the test when redis-server was built without
// TLS.
func startTLSRedis(t *testing.T, password string) (string, string) {
	t.Helper()
	dir := t.TempDir()
	ca, cert, key := writeCerts(t, dir)
	for attempt := 0; attempt < 3; attempt++ {
		addr := freeAddr(t)
		_, port, _ := net.SplitHostPort(addr)
		cmd := exec.Command("redis-server", "--port", "0", "--tls-port", port, "--bind", "127.0.0.1",
			"--tls-cert-file", cert, "--tls-key-file", key, "--tls-ca-cert-file", ca, "--tls-auth-clients", "no",
			"--requirepass", password, "--save", "", "--appendonly", "no", "--dir", dir)
		logs := &logbuf.Buffer{}
		cmd.Stdout, cmd.Stderr = logs, logs
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			t.Skipf("redis-server: %v", err)
		}
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		t.Cleanup(func() { _ = cmd.Process.Kill(); <-done })
		u := url.URL{Scheme: "rediss", User: url.UserPassword("", password), Host: addr, Path: "/0"}
		if pingTLS(t, u.String(), ca, done) {
			return u.String(), ca
		}
		if out := logs.String(); strings.Contains(out, "Bad directive") || strings.Contains(out, "not support") {
			t.Skipf("redis-server was built without TLS:\n%s", out)
		}
	}
	t.Fatalf("redis-server with TLS did not start")
	return "", ""
}

// pingTLS waits until the server answers a PING over TLS with the password.
func pingTLS(t *testing.T, redisURL, ca string, exited <-chan struct{}) bool {
	t.Helper()
	rdb := openRedis(t, redisURL, ca)
	up, gone := false, false
	testwait.Poll(10*time.Second, func() bool {
		select {
		case <-exited:
			gone = true
		default:
			up = rdb.Ping(t.Context()).Err() == nil
		}
		return up || gone
	})
	return up && !gone
}

// writeCerts writes a CA and a server certificate for 127.0.0.1 signed by
// it, and returns the paths of the CA certificate, the server certificate
// and its key.
func writeCerts(t *testing.T, dir string) (ca, cert, key string) {
	t.Helper()
	f, err := localca.WriteFiles(dir)
	if err != nil {
		t.Fatalf("certificates: %v", err)
	}
	return f.CA, f.Cert, f.Key
}
