// Command sandbox serves a local stand-in for the Resource Directory API
// (internal/sandbox): the actions the project calls, in the cloud's
// wire format, plus GET /sandbox/sms and GET /sandbox/stats.
//
//	sandbox [--addr 127.0.0.1:18080] [--access-key-id ID --access-key-secret S]
//	        [--send-qps N] [--bind-qps N] [--get-qps N] [--code-ttl 5m]
//	        [--daily-send-limit N] [--faults FILE] [--latency D]
//	        [--throttle-rate P] [--site china|international] [--directory FILE]
//	        [--list-qps 20] [--list-for-parent-qps 50] [--debug]
//
// Logs go to stderr. SIGINT or SIGTERM stops it gracefully.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/rdonboard/rdonboard/internal/sandbox"
)

// shutdownTimeout bounds the wait for calls in flight at shutdown.
const shutdownTimeout = 10 * time.Second

// config is the command line.
type config struct {
	addr         string
	opts         sandbox.Options
	faultsFile   string
	dirFile      string
	latency      time.Duration
	throttleRate float64
	debug        bool
	// set names the flags given explicitly.
	set map[string]bool
}

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "sandbox:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	cfg, err := parseFlags(args)
	if err != nil {
		return err
	}
	log := newLogger(cfg.debug)
	defer func() { _ = log.Sync() }()
	cfg.opts.Logger = log
	if cfg.opts.Faults, err = loadFaults(cfg); err != nil {
		return err
	}
	if cfg.dirFile != "" {
		if cfg.opts.Directory, err = sandbox.LoadDirectory(cfg.dirFile); err != nil {
			return err
		}
	}
	sb, err := sandbox.New(cfg.opts)
	if err != nil {
		return err
	}
	return serve(cfg.addr, sb, log)
}

func parseFlags(args []string) (config, error) {
	var c config
	fs := flag.NewFlagSet("sandbox", flag.ContinueOnError)
	fs.StringVar(&c.addr, "addr", "127.0.0.1:18080", "listen address (loopback only by default)")
	fs.StringVar(&c.opts.AccessKeyID, "access-key-id", sandbox.DefaultAccessKeyID, "the AccessKey ID accepted")
	fs.StringVar(&c.opts.AccessKeySecret, "access-key-secret", sandbox.DefaultAccessKeySecret, "the AccessKey secret accepted")
	fs.Float64Var(&c.opts.SendQPS, "send-qps", 0, "SendVerificationCode quota per second (0: unlimited)")
	fs.Float64Var(&c.opts.BindQPS, "bind-qps", 0, "BindSecureMobilePhone quota per second (0: unlimited)")
	fs.Float64Var(&c.opts.GetQPS, "get-qps", 0, "GetAccount quota per second (0: unlimited)")
	fs.Float64Var(&c.opts.ListQPS, "list-qps", sandbox.DefaultListQPS, "ListAccounts quota per second (negative: unlimited)")
	fs.Float64Var(&c.opts.ListForParentQPS, "list-for-parent-qps", sandbox.DefaultListForParentQPS, "ListAccountsForParent quota per second (negative: unlimited)")
	fs.StringVar(&c.dirFile, "directory", "", "JSON file of the Resource Directory served (see internal/sandbox/README.md)")
	fs.StringVar(&c.opts.Site, "site", sandbox.SiteChina, "site imitated: china (only 86- numbers) or international (any country code but 86)")
	fs.DurationVar(&c.opts.CodeTTL, "code-ttl", sandbox.DefaultCodeTTL, "how long a sent code is valid")
	fs.IntVar(&c.opts.DailySendLimit, "daily-send-limit", sandbox.DefaultDailySendLimit, "codes per account per day (negative: no limit)")
	fs.StringVar(&c.faultsFile, "faults", "", "JSON file of faults (see internal/sandbox/README.md)")
	fs.DurationVar(&c.latency, "latency", 0, "delay added to every answer (overrides the faults file)")
	fs.Float64Var(&c.throttleRate, "throttle-rate", 0, "fraction of calls answered Throttling.User (overrides the faults file)")
	fs.BoolVar(&c.debug, "debug", false, "log every call")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	c.set = map[string]bool{}
	fs.Visit(func(f *flag.Flag) { c.set[f.Name] = true })
	return c, nil
}

// loadFaults reads the faults file, then applies --latency and
// --throttle-rate when given.
func loadFaults(c config) (sandbox.Faults, error) {
	var f sandbox.Faults
	if c.faultsFile != "" {
		var err error
		if f, err = sandbox.LoadFaults(c.faultsFile); err != nil {
			return f, err
		}
	}
	if c.set["latency"] {
		f.Latency = c.latency
	}
	if c.set["throttle-rate"] {
		f.ThrottleRate = c.throttleRate
	}
	return f, nil
}

// newLogger logs to stderr: readable on a terminal, JSON otherwise.
func newLogger(debug bool) *zap.Logger {
	level := zap.InfoLevel
	if debug {
		level = zap.DebugLevel
	}
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	if fi, err := os.Stderr.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
		enc = zapcore.NewConsoleEncoder(zap.NewDevelopmentEncoderConfig())
	}
	return zap.New(zapcore.NewCore(enc, zapcore.Lock(os.Stderr), level))
}

// serve runs the HTTP server until SIGINT or SIGTERM, then lets calls in
// flight finish.
func serve(addr string, h http.Handler, log *zap.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("sandbox listening", zap.String("addr", "http://"+ln.Addr().String()))
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("sandbox stopping")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}
