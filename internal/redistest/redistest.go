// Package redistest gives tests a real redis-server. Each test package starts
// one server on a free port (or uses REDIS_URL when set) and hands every test
// a database of its own, flushed before use, so tests may run in parallel and
// never depend on a server someone else started. Fault tests start a
// dedicated server they can stop and restart.
//
// A package that uses DB or URL runs its tests through Main:
//
//	func TestMain(m *testing.M) { redistest.Main(m) }
package redistest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rdonboard/rdonboard/internal/testwait"
)

// databases is how many databases a package's own server offers; it bounds
// how many tests of one package hold a database at once.
const databases = 64

var (
	shared     *Server
	sharedErr  error
	sharedOnce sync.Once
	// free holds the database numbers not held by a running test.
	free chan int
	// external is the REDIS_URL a user gave, if any.
	external *url.URL
)

// Main runs the package's tests and stops the package's server afterwards.
func Main(m *testing.M) { os.Exit(Run(m)) }

// Run runs the package's tests, stops the package's server and returns the
// exit code, for a TestMain that does more than Main.
func Run(m *testing.M) int {
	code := m.Run()
	if shared != nil {
		shared.stop()
		_ = os.RemoveAll(shared.dir)
	}
	return code
}

// Options configures a dedicated server.
type Options struct {
	// AppendOnly turns on AOF persistence (fsync every write), so a restart
	// keeps the data.
	AppendOnly bool
	// Password sets requirepass.
	Password string
	// Args are extra redis-server arguments.
	Args []string
}

// Server is a redis-server process owned by a test.
type Server struct {
	// Addr is host:port of the server.
	Addr string
	opts Options
	dir  string
	cmd  *exec.Cmd
	mu   sync.Mutex
}

// DB returns a client on a database of its own for the calling test,
// flushed, and released when the test ends.
func DB(t testing.TB) *redis.Client {
	t.Helper()
	u := URL(t)
	opt, err := redis.ParseURL(u)
	if err != nil {
		t.Fatalf("redistest: parse %s: %v", u, err)
	}
	c := redis.NewClient(opt)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// URL returns a redis:// URL of a database of its own for the calling test,
// flushed, and released when the test ends. Pass it to the binaries under
// test as REDIS_URL.
func URL(t testing.TB) string {
	t.Helper()
	base, err := sharedBase()
	if err != nil {
		t.Fatalf("redistest: %v", err)
	}
	db := <-free
	t.Cleanup(func() { free <- db })
	u := *base
	u.Path = "/" + strconv.Itoa(db)
	c := redis.NewClient(mustParse(t, u.String()))
	defer c.Close()
	if err := c.FlushDB(context.Background()).Err(); err != nil {
		t.Fatalf("redistest: flush db %d: %v", db, err)
	}
	return u.String()
}

func mustParse(t testing.TB, u string) *redis.Options {
	t.Helper()
	o, err := redis.ParseURL(u)
	if err != nil {
		t.Fatalf("redistest: parse %s: %v", u, err)
	}
	return o
}

// sharedBase starts the package's server once, or adopts REDIS_URL.
func sharedBase() (*url.URL, error) {
	sharedOnce.Do(func() {
		if env := os.Getenv("REDIS_URL"); env != "" {
			external, sharedErr = url.Parse(env)
			free = make(chan int, 1)
			free <- dbOf(external)
			return
		}
		shared, sharedErr = start(Options{})
		free = make(chan int, databases)
		for i := 0; i < databases; i++ {
			free <- i
		}
	})
	if sharedErr != nil {
		return nil, sharedErr
	}
	if external != nil {
		return external, nil
	}
	return &url.URL{Scheme: "redis", Host: shared.Addr}, nil
}

func dbOf(u *url.URL) int {
	n, err := strconv.Atoi(filepath.Base(u.Path))
	if err != nil {
		return 0
	}
	return n
}

// Start starts a dedicated redis-server for a test that needs to stop or
// restart it; it is killed when the test ends.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	s, err := start(opts)
	if err != nil {
		t.Fatalf("redistest: %v", err)
	}
	t.Cleanup(func() {
		s.stop()
		_ = os.RemoveAll(s.dir)
	})
	return s
}

// URL returns the server's redis:// URL for database db.
func (s *Server) URL(db int) string {
	u := url.URL{Scheme: "redis", Host: s.Addr, Path: "/" + strconv.Itoa(db)}
	if s.opts.Password != "" {
		u.User = url.UserPassword("", s.opts.Password)
	}
	return u.String()
}

// Stop kills the server (SIGKILL: as abrupt as a crash).
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	s.stop()
}

// Restart starts the server again on the same port and data directory.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.launch(); err != nil {
		t.Fatalf("redistest: restart: %v", err)
	}
}

func start(opts Options) (*Server, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, errors.New("redis-server not found on PATH: install it (apt-get install -y redis-server) or set REDIS_URL")
	}
	dir, err := os.MkdirTemp("", "redistest-")
	if err != nil {
		return nil, err
	}
	s := &Server{opts: opts, dir: dir}
	for attempt := 0; attempt < 5; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		if err = s.launchWith(bin); err == nil {
			return s, nil
		}
	}
	return nil, fmt.Errorf("could not start redis-server in %s", dir)
}

func (s *Server) launch() error {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return err
	}
	return s.launchWith(bin)
}

func (s *Server) launchWith(bin string) error {
	_, port, _ := net.SplitHostPort(s.Addr)
	args := []string{"--port", port, "--bind", "127.0.0.1", "--dir", s.dir,
		"--save", "", "--databases", strconv.Itoa(databases), "--logfile", filepath.Join(s.dir, "redis.log")}
	if s.opts.AppendOnly {
		args = append(args, "--appendonly", "yes", "--appendfsync", "always")
	} else {
		args = append(args, "--appendonly", "no")
	}
	if s.opts.Password != "" {
		args = append(args, "--requirepass", s.opts.Password)
	}
	args = append(args, s.opts.Args...)
	cmd := exec.Command(bin, args...)
	// The server dies with the test binary even if cleanup never runs.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return err
	}
	s.cmd = cmd
	if err := s.waitReady(10 * time.Second); err != nil {
		_ = cmd.Process.Kill()
		_, _ = cmd.Process.Wait()
		s.cmd = nil
		return err
	}
	return nil
}

func (s *Server) waitReady(limit time.Duration) error {
	var err error
	ready := testwait.Poll(limit, func() bool {
		if s.cmd.ProcessState != nil {
			err = errors.New("redis-server exited")
			return true
		}
		conn, dialErr := net.DialTimeout("tcp", s.Addr, 200*time.Millisecond)
		if dialErr != nil {
			return false
		}
		_ = conn.Close()
		err = s.ping()
		return true
	})
	if !ready {
		return fmt.Errorf("redis-server on %s not ready after %s", s.Addr, limit)
	}
	return err
}

func (s *Server) ping() error {
	c := redis.NewClient(&redis.Options{Addr: s.Addr, Password: s.opts.Password, MaxRetries: -1})
	defer c.Close()
	var err error
	// LOADING answers while an AOF is replayed; wait it out.
	testwait.Poll(5*time.Second, func() bool { err = c.Ping(context.Background()).Err(); return err == nil })
	return err
}

func (s *Server) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_, _ = s.cmd.Process.Wait()
	s.cmd = nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// DownAddr returns a loopback host:port where nothing listens: a Redis
// that is down.
func DownAddr(t testing.TB) string {
	t.Helper()
	port, err := freePort()
	if err != nil {
		t.Fatalf("redistest: %v", err)
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
}
