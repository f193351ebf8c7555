package httpapi_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/rdonboard/rdonboard/internal/httpapi"
	"github.com/rdonboard/rdonboard/internal/intake"
	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/internal/redistest"
	"github.com/rdonboard/rdonboard/tasks"
)

// hostileToken is the bearer token of the API under attack.
const hostileToken = "hostile-test-token"

// hostileMember is a member waiting for a code in every hostile test.
const hostileMember = "1000000000000001"

// target is the API over a real Redis with hostileMember waiting for a
// code, and at most maxAttempts codes taken per sent code.
type target struct {
	api   *httpapi.API
	rdb   redis.UniversalClient
	store *member.Store
	insp  *asynq.Inspector
}

func newTarget(t testing.TB, rdb redis.UniversalClient, maxAttempts int) *target {
	t.Helper()
	store := member.New(rdb, member.Options{})
	client := asynq.NewClientFromRedisClient(rdb)
	tg := &target{rdb: rdb, store: store, insp: asynq.NewInspectorFromRedisClient(rdb),
		api: httpapi.New(httpapi.Params{Store: store, Intake: intake.New(store, client, maxAttempts), Redis: rdb, Token: hostileToken})}
	waitForCode(t, store, hostileMember)
	return tg
}

// waitForCode admits id and moves it to code_sent, as a send would.
func waitForCode(t testing.TB, store *member.Store, id string) {
	t.Helper()
	ctx := context.Background()
	_, err := store.Admit(ctx, []member.Candidate{{AccountID: id, Phone: "86-13900000001", Batch: "hostile"}}, member.AdmitOptions{})
	if err == nil {
		_, err = store.Transition(ctx, id, member.Move{From: []member.State{member.Pending}, To: member.CodeSent,
			Reason: "code sent", Edits: []member.Edit{member.IncrSends(), member.SetExpiry(time.Now().Add(time.Hour))}})
	}
	if err != nil {
		t.Fatalf("member %s waiting for a code: %v", id, err)
	}
}

// serve runs the API behind httpapi.Server (its timeouts included) on a
// loopback port and returns the address.
func (tg *target) serve(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httpapi.Server(ln.Addr().String(), tg.api)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// TestHostileBodies posts bodies a careless or hostile client might send:
// each is refused with 400, and nothing reaches the callback queue.
func TestHostileBodies(t *testing.T) {
	t.Parallel()
	tg := newTarget(t, redistest.DB(t), math.MaxInt32)
	addr := tg.serve(t)
	valid := `{"account_id":"` + hostileMember + `","code":"123456"}`
	bodies := map[string]string{
		"empty":                 ``,
		"null":                  `null`,
		"array":                 `[` + valid + `]`,
		"string":                `"123456"`,
		"truncated":             valid[:len(valid)-2],
		"code as number":        `{"account_id":"` + hostileMember + `","code":123456}`,
		"account as number":     `{"account_id":1000000000000001,"code":"123456"}`,
		"code null":             `{"account_id":"` + hostileMember + `","code":null}`,
		"code missing":          `{"account_id":"` + hostileMember + `"}`,
		"code with spaces":      `{"account_id":"` + hostileMember + `","code":" 123456"}`,
		"code with newline":     `{"account_id":"` + hostileMember + `","code":"123456\n"}`,
		"seven digits":          `{"account_id":"` + hostileMember + `","code":"1234567"}`,
		"fullwidth digits":      `{"account_id":"` + hostileMember + `","code":"１２３４５６"}`,
		"arabic-indic digits":   `{"account_id":"` + hostileMember + `","code":"١٢٣٤٥٦"}`,
		"code as glob":          `{"account_id":"` + hostileMember + `","code":"******"}`,
		"account as glob":       `{"account_id":"*","code":"123456"}`,
		"account as key":        `{"account_id":"1:h:1","code":"123456"}`,
		"account with CRLF":     `{"account_id":"1\r\nFLUSHALL","code":"123456"}`,
		"account too long":      `{"account_id":"` + strings.Repeat("1", 33) + `","code":"123456"}`,
		"BOM first":             "\ufeff" + valid,
		"two objects":           valid + valid,
		"trailing garbage":      valid + `garbage`,
		"deep nesting":          strings.Repeat(`{"a":`, 600) + `1` + strings.Repeat(`}`, 600),
		"invalid UTF-8":         `{"account_id":"` + hostileMember + `","code":"12345` + "\xff" + `"}`,
		"NUL in code":           `{"account_id":"` + hostileMember + `","code":"12345\u0000"}`,
		"escaped digits, short": `{"account_id":"` + hostileMember + `","code":"\u0031\u0032\u0033"}`,
	}
	for name, body := range bodies {
		status, text := postCode(t, addr, hostileToken, body)
		if status != http.StatusBadRequest {
			t.Errorf("%s: %d %s, want 400", name, status, text)
		}
	}
	requireNoCodeQueued(t, tg)
}

// TestHugeBodies sends bodies far larger than the intake takes: the
// answer is 413 as soon as the limit is passed, without waiting for the
// rest.
func TestHugeBodies(t *testing.T) {
	t.Parallel()
	tg := newTarget(t, redistest.DB(t), math.MaxInt32)
	addr := tg.serve(t)
	for name, head := range map[string]string{
		"declared 1 GiB":  "Content-Length: 1073741824\r\n",
		"chunked, no end": "Transfer-Encoding: chunked\r\n",
	} {
		conn := dial(t, addr)
		fmt.Fprintf(conn, "POST /v1/codes HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\n%s\r\n", hostileToken, head)
		chunk := `{"account_id":"` + strings.Repeat("1", 8<<10) + `"`
		if strings.Contains(head, "chunked") {
			chunk = fmt.Sprintf("%x\r\n%s\r\n", len(chunk), chunk)
		}
		_, _ = io.WriteString(conn, chunk)
		if status := readStatus(t, conn); status != http.StatusRequestEntityTooLarge {
			t.Errorf("%s: %s, want 413", name, describe(status))
		}
	}
	if status, _ := postCode(t, addr, hostileToken, strings.Repeat(" ", httpapi.MaxBodyBytes+1)); status != http.StatusRequestEntityTooLarge {
		t.Errorf("whitespace over the limit: %s, want 413", describe(status))
	}
	requireNoCodeQueued(t, tg)
}

// TestSlowClients holds connections open the way slowloris does: silent,
// trickling headers, trickling a body. The server's timeouts close each one
// before the client is done.
func TestSlowClients(t *testing.T) {
	t.Parallel()
	tg := newTarget(t, redistest.DB(t), math.MaxInt32)
	addr := tg.serve(t)
	// The body's object cannot end before the server's read timeout.
	body := "{" + strings.Repeat(" ", 60) + `"account_id":"` + hostileMember + `","code":"123456"}`
	head := fmt.Sprintf("POST /v1/codes HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: %d\r\n\r\n", hostileToken, len(body))
	clients := map[string]struct{ sent, trickled string }{
		"silent":            {"", ""},
		"trickled headers":  {"", head + body},
		"headers never end": {"GET /healthz HTTP/1.1\r\n", strings.Repeat("X-Slow: 1\r\n", 400)},
		"trickled body":     {head, body},
	}
	for name, c := range clients {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if sent, whole := trickle(t, addr, c.sent, c.trickled, 250*time.Millisecond); whole {
				t.Errorf("the server kept the connection open while %d bytes were trickled", sent)
			}
		})
	}
	t.Cleanup(func() { requireNoCodeQueued(t, tg) })
}

// trickle writes sent at once, then trickled one byte per interval (a
// silent client writes nothing for a minute), until the server closes the
// connection; it reports how many bytes were trickled and whether all of
// them were.
func trickle(t *testing.T, addr, sent, trickled string, interval time.Duration) (int, bool) {
	t.Helper()
	conn := dial(t, addr)
	closed := make(chan struct{})
	go func() {
		// Whatever the server answers, it ends by closing the connection.
		_, _ = io.Copy(io.Discard, conn)
		close(closed)
	}()
	_, _ = io.WriteString(conn, sent)
	if trickled == "" {
		select {
		case <-closed:
			return 0, false
		case <-time.After(time.Minute):
			return 0, true
		}
	}
	for i := range len(trickled) {
		select {
		case <-closed:
			return i, false
		case <-time.After(interval):
		}
		if _, err := conn.Write([]byte{trickled[i]}); err != nil {
			return i, false
		}
	}
	return len(trickled), true
}

// TestUnknownRoutes calls routes the API does not have: 404 (405 would do
// for a known path and the wrong method), never a member or a 5xx.
func TestUnknownRoutes(t *testing.T) {
	t.Parallel()
	tg := newTarget(t, redistest.DB(t), math.MaxInt32)
	addr := tg.serve(t)
	routes := []string{
		"GET /", "GET /v1", "GET /v1/", "GET /v2/members", "POST /v1/code", "POST /v1/codes/extra",
		"GET /v1/members/" + hostileMember + "/x/y", "GET /v1/members/%2A", "GET /v1/members/1%0D%0AFLUSHALL",
		"GET /.env", "GET /%2e%2e/%2e%2e/etc/passwd", "DELETE /v1/codes", "PUT /v1/members/" + hostileMember,
	}
	for _, route := range routes {
		method, path, _ := strings.Cut(route, " ")
		conn := dial(t, addr)
		fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", method, path, hostileToken)
		if status := readStatus(t, conn); status != http.StatusNotFound && status != http.StatusMethodNotAllowed {
			t.Errorf("%s: %s, want 404", route, describe(status))
		}
	}
}

// TestHugeHeaders sends more header bytes than the server takes: 431.
func TestHugeHeaders(t *testing.T) {
	t.Parallel()
	tg := newTarget(t, redistest.DB(t), math.MaxInt32)
	addr := tg.serve(t)
	conn := dial(t, addr)
	fmt.Fprintf(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: %s\r\n\r\n", strings.Repeat("a", 1<<20))
	if status := readStatus(t, conn); status != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("1 MiB of headers: %s, want 431", describe(status))
	}
}

// TestIntakeWithRedisDown hands in a code while Redis is down: 503, the
// one 5xx the intake gives, and /readyz says so; once Redis is back the
// same code is taken.
func TestIntakeWithRedisDown(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t, redistest.Options{AppendOnly: true})
	opt, _ := redis.ParseURL(srv.URL(0))
	opt.MaxRetries = -1
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { _ = rdb.Close() })
	tg := newTarget(t, rdb, math.MaxInt32)
	addr := tg.serve(t)
	valid := `{"account_id":"` + hostileMember + `","code":"123456"}`

	srv.Stop(t)
	if status := getStatus(t, addr, "/readyz"); status != http.StatusServiceUnavailable {
		t.Errorf("GET /readyz with Redis down: %s, want 503", describe(status))
	}
	for _, body := range []string{valid, `{"account_id":"1999999999999999","code":"123456"}`} {
		if status, text := postCode(t, addr, hostileToken, body); status != http.StatusServiceUnavailable {
			t.Errorf("code with Redis down: %d %s, want 503", status, text)
		}
	}
	if status, _ := postCode(t, addr, hostileToken, `{"code":"x"}`); status != http.StatusBadRequest {
		t.Errorf("malformed code with Redis down: %s, want 400 (checked before Redis)", describe(status))
	}
	srv.Restart(t)
	if status, text := postCode(t, addr, hostileToken, valid); status != http.StatusAccepted {
		t.Errorf("code once Redis is back: %d %s, want 202", status, text)
	}
}

// postCode sends body to POST /v1/codes over a fresh connection.
func postCode(t *testing.T, addr, token, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/v1/codes", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	req.Close = true
	resp, err := hostileClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func getStatus(t *testing.T, addr, path string) int {
	t.Helper()
	resp, err := hostileClient.Get("http://" + addr + path)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

var hostileClient = &http.Client{Timeout: 30 * time.Second}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// readStatus reads the status code of the answer on conn (0: none).
func readStatus(t *testing.T, conn net.Conn) int {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

func describe(status int) string {
	if status == 0 {
		return "no answer"
	}
	return fmt.Sprintf("%d %s", status, http.StatusText(status))
}

// requireNoCodeQueued checks that no code reached the callback queue.
func requireNoCodeQueued(t *testing.T, tg *target) {
	t.Helper()
	queues, err := tg.insp.Queues()
	if err != nil {
		t.Fatalf("queues: %v", err)
	}
	if !slices.Contains(queues, tasks.QueueCallback) {
		return
	}
	info, err := tg.insp.GetQueueInfo(tasks.QueueCallback)
	if err != nil {
		t.Fatalf("callback queue: %v", err)
	}
	if info.Size != 0 {
		t.Errorf("%d codes reached the callback queue, want none", info.Size)
	}
}
