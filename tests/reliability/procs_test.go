package reliability

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rdonboard/rdonboard/internal/logbuf"
	"github.com/rdonboard/rdonboard/internal/sandbox"
	"github.com/rdonboard/rdonboard/internal/testwait"
)

// client is the HTTP client of the tests; its timeout is a safety net.
var client = &http.Client{Timeout: 10 * time.Second}

// proc is a child process under test; its stderr (the JSON log) is kept.
type proc struct {
	name string
	cmd  *exec.Cmd
	logs *logbuf.Buffer
	done chan struct{}
}

// startProc starts path with env and args. The process dies with the test
// binary, and is stopped when the test ends.
func startProc(t testing.TB, name, path string, env []string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(path, args...)
	cmd.Env = env
	p := &proc{name: name, cmd: cmd, logs: &logbuf.Buffer{}, done: make(chan struct{})}
	cmd.Stderr = p.logs
	cmd.Stdout = p.logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("%s: last log lines:\n%s", name, p.logs.Tail(30))
		}
	})
	return p
}

// kill ends the process with SIGKILL, as abrupt as a crash, and waits.
func (p *proc) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// stop asks the process to stop (SIGTERM) and waits; after 30 s it is
// killed.
func (p *proc) stop() {
	if p.exited() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		p.kill()
	}
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// waitHealthy polls url until it answers 200; false if the process exited
// first or the time ran out.
func (p *proc) waitHealthy(url string, limit time.Duration) bool {
	healthy := false
	testwait.Poll(limit, func() bool {
		if resp, err := client.Get(url); err == nil {
			resp.Body.Close()
			healthy = resp.StatusCode == http.StatusOK
		}
		return healthy || p.exited()
	})
	return healthy
}

// childEnv is the environment of a child process: the test's own without
// any setting of rdonboard or the cloud SDK, plus vars.
func childEnv(vars map[string]string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if name == "REDIS_URL" || name == "DEBUG" || strings.HasPrefix(name, "ONBOARD_") || strings.HasPrefix(name, "ALIBABA_CLOUD_") {
			continue
		}
		env = append(env, kv)
	}
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	return env
}

// freeAddr returns a loopback address with a port nobody listens on.
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer l.Close()
	return l.Addr().String()
}

// sandboxProc is a running `sandbox` binary.
type sandboxProc struct {
	*proc
	URL string
}

// startSandbox runs the sandbox binary with codes valid for ten minutes
// (longer than any test) and the extra flags given.
func startSandbox(t testing.TB, flags ...string) *sandboxProc {
	t.Helper()
	for attempt := 0; attempt < 3; attempt++ {
		addr := freeAddr(t)
		args := append([]string{"--addr", addr, "--code-ttl", "10m"}, flags...)
		p := startProc(t, "sandbox", bin.sandbox, childEnv(nil), args...)
		s := &sandboxProc{proc: p, URL: "http://" + addr}
		if p.waitHealthy(s.URL+"/sandbox/stats", 20*time.Second) {
			return s
		}
		p.kill()
	}
	t.Fatalf("sandbox did not start")
	return nil
}

// SMS returns every SMS the sandbox sent, oldest first.
func (s *sandboxProc) SMS(t testing.TB) []sandbox.SMS {
	t.Helper()
	var out []sandbox.SMS
	getJSON(t, s.URL+"/sandbox/sms", &out)
	return out
}

// Stats returns the sandbox's counters.
func (s *sandboxProc) Stats(t testing.TB) sandbox.Stats {
	t.Helper()
	var out sandbox.Stats
	getJSON(t, s.URL+"/sandbox/stats", &out)
	return out
}

// Outage starts an outage of mode for d through the admin route.
func (s *sandboxProc) Outage(t testing.TB, mode string, d time.Duration) {
	t.Helper()
	s.admin(t, "/sandbox/outage", sandbox.OutageRequest{Mode: mode, For: d.String()})
}

// Throttle sets the share of calls answered Throttling.User.
func (s *sandboxProc) Throttle(t testing.TB, rate float64) {
	t.Helper()
	s.admin(t, "/sandbox/throttle", sandbox.ThrottleRequest{Rate: rate})
}

func (s *sandboxProc) admin(t testing.TB, route string, body any) {
	t.Helper()
	status, text := postJSON(t, s.URL+route, "", body)
	if status != http.StatusOK {
		t.Fatalf("POST %s: %d %s", route, status, text)
	}
}

func getJSON(t testing.TB, url string, v any) {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d", url, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

// postJSON posts body (marshalled unless it is a string) with a bearer
// token when given; status 0 is a failed connection.
func postJSON(t testing.TB, url, token string, body any) (int, string) {
	t.Helper()
	b, ok := body.(string)
	if !ok {
		raw, err := json.Marshal(body)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		b = string(raw)
	}
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(b))
	if err != nil {
		t.Fatalf("request: %v", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return do(client, req)
}

// do sends req through c and returns the status and body; status 0 is a
// failed connection.
func do(c *http.Client, req *http.Request) (int, string) {
	resp, err := c.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// cli is one finished run of a command-line binary.
type cli struct {
	code           int
	stdout, stderr string
}

// runCLI runs a binary to its end.
func runCLI(t testing.TB, path string, env []string, args ...string) cli {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("run %s: %v", path, err)
	}
	return cli{code: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String()}
}

// metrics scrapes a Prometheus text page into sample → value, each sample
// written as in the page (`name{label="v"}`).
func metrics(t testing.TB, url string) map[string]float64 {
	t.Helper()
	out, err := scrape(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return out
}

func scrape(url string) (map[string]float64, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil && i > 0 {
			out[line[:i]] = v
		}
	}
	return out, sc.Err()
}

// sum adds the samples of metric name whose labels contain every one of
// labels (each `key="value"`).
func sum(samples map[string]float64, name string, labels ...string) (float64, bool) {
	total, found := 0.0, false
	for sample, v := range samples {
		n, rest, _ := strings.Cut(sample, "{")
		if n != name || !containsAll(rest, labels) {
			continue
		}
		total += v
		found = true
	}
	return total, found
}

func containsAll(s string, parts []string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

// describe names a status for messages.
func describe(status int) string {
	if status == 0 {
		return "no answer"
	}
	return fmt.Sprintf("%d %s", status, http.StatusText(status))
}

func decodeInto(resp *http.Response, v any) error {
	return json.NewDecoder(resp.Body).Decode(v)
}
