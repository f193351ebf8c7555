// Package demo runs the whole job end to end on one machine with nothing
// but Go: an embedded Redis (or REDIS_URL), the sandbox cloud, a worker
// assembled exactly as cmd/worker assembles it, the example roster, a mail
// server that catches the emails to the phones' owners, and simulated
// owners who take the owner link from their email and the code from their
// phone, and hand it in on the owner page after human-like delays.
package demo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/rdonboard/rdonboard/internal/cloud"
	"github.com/rdonboard/rdonboard/internal/config"
	"github.com/rdonboard/rdonboard/internal/redisconn"
	"github.com/rdonboard/rdonboard/internal/sandbox"
	"github.com/rdonboard/rdonboard/internal/simworld"
	"github.com/rdonboard/rdonboard/internal/worker"
)

// Options configures a demo run.
type Options struct {
	// Roster is the members CSV; Faults the sandbox's faults file.
	Roster, Faults string
	// RedisURL, when set, is used instead of an embedded Redis.
	RedisURL string
	// OutDir receives the worker's log and the rejects file.
	OutDir string
	// Out gets the results; Progress the live progress.
	Out, Progress io.Writer
	// Timeout bounds the run.
	Timeout time.Duration
}

// The demo's timing: codes live 15 s and two are sent, so a member whose
// owner never answers is expired within about 35 s.
const (
	codeTTL  = 15 * time.Second
	maxSends = 2
	batch    = "demo"
)

// Run runs the demo and reports whether every member ended as predicted.
func Run(ctx context.Context, o Options) error {
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	if err := os.MkdirAll(o.OutDir, 0o755); err != nil {
		return err
	}
	rdb, stopRedis, err := openRedis(ctx, o.RedisURL)
	if err != nil {
		return err
	}
	defer stopRedis()
	sb, cloudURL, stopSandbox, err := startSandbox(o.Faults)
	if err != nil {
		return err
	}
	defer stopSandbox()
	log, logPath, err := fileLogger(o.OutDir)
	if err != nil {
		return err
	}
	redisconn.LogTo(log)
	fmt.Fprintf(o.Out, "Sandbox cloud at %s; worker log: %s\n\n", cloudURL, logPath)
	return run(ctx, o, rdb, sb, cloudURL, log)
}

func run(ctx context.Context, o Options, rdb redis.UniversalClient, sb *sandbox.Server, cloudURL string, log *zap.Logger) error {
	mail, err := simworld.StartMail(simworld.MailOptions{Dir: o.OutDir})
	if err != nil {
		return err
	}
	defer mail.Stop()
	_, stopWorker, err := startWorker(ctx, rdb, cloudURL, mail, log)
	if err != nil {
		return err
	}
	defer stopWorker()
	d := &driver{o: o, rdb: rdb, mail: mail, sandbox: sb, cloudURL: cloudURL}
	n, err := d.enqueue(ctx)
	if err != nil {
		return err
	}
	owners, err := d.startOwners(ctx)
	if err != nil {
		return err
	}
	err = d.watch(ctx, n)
	owners.Stop()
	if rerr := d.report(ctx, owners); rerr != nil && err == nil {
		err = rerr
	}
	return err
}

func openRedis(ctx context.Context, url string) (redis.UniversalClient, func(), error) {
	if url != "" {
		opt, err := redisconn.Parse(url, redisconn.Options{})
		if err != nil {
			return nil, nil, err
		}
		rdb := redisconn.Open(opt)
		if err := redisconn.Ping(ctx, rdb, url, 5*time.Second); err != nil {
			return nil, nil, err
		}
		return rdb, func() { _ = rdb.Close() }, nil
	}
	// miniredis's TTLs move only when told to: keep its clock moving, so
	// asynq's leases and locks expire as on a real server.
	mr, err := miniredis.Run()
	if err != nil {
		return nil, nil, fmt.Errorf("embedded Redis: %w", err)
	}
	stop := make(chan struct{})
	go tick(mr, stop)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	return rdb, func() { close(stop); _ = rdb.Close(); mr.Close() }, nil
}

func tick(mr *miniredis.Miniredis, stop <-chan struct{}) {
	const step = 100 * time.Millisecond
	t := time.NewTicker(step)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			mr.FastForward(step)
		}
	}
}

func startSandbox(faultsPath string) (*sandbox.Server, string, func(), error) {
	faults, err := sandbox.LoadFaults(faultsPath)
	if err != nil {
		return nil, "", nil, err
	}
	sb, err := sandbox.New(sandbox.Options{Faults: faults, CodeTTL: codeTTL})
	if err != nil {
		return nil, "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", nil, err
	}
	srv := &http.Server{Handler: sb, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return sb, "http://" + ln.Addr().String(), func() { _ = srv.Close() }, nil
}

func startWorker(ctx context.Context, rdb redis.UniversalClient, cloudURL string, mail *simworld.MailServer, log *zap.Logger) (*worker.Worker, func(), error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, nil, err
	}
	cfg := config.Defaults()
	// The owner links name the worker's address: it must be a real port.
	cfg.CloudEndpoint, cfg.CallbackToken, cfg.HTTPAddr, cfg.LinkSecret = cloudURL, randomToken(), addr, randomToken()
	// Owners are told by email, caught by the demo's own mail server.
	cfg.SMTPURL, cfg.SMTPFrom, cfg.SMTPCAFile = mail.URL(), "onboard@demo.example", mail.CAFile
	cfg.SendQPS, cfg.BindQPS, cfg.GetQPS = 10, 10, 20
	cfg.MaxSends, cfg.MaxCodeAttempts, cfg.Concurrency = maxSends, 3, 12
	// Shared phones get one SMS at a time; a short gap keeps the demo short.
	cfg.PhoneGap = 2 * time.Second
	sdk, err := cloud.New(cloud.Config{Endpoint: cloudURL, AccessKeyID: sandbox.DefaultAccessKeyID,
		AccessKeySecret: sandbox.DefaultAccessKeySecret, Logger: log.Named("cloud")})
	if err != nil {
		return nil, nil, err
	}
	w := worker.Assemble(worker.Deps{Config: cfg, Redis: rdb, Cloud: sdk, Logger: log})
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(wctx) }()
	select {
	case <-w.Ready():
	case err := <-done:
		cancel()
		return nil, nil, fmt.Errorf("worker: %w", err)
	}
	return w, func() { cancel(); <-done; sdk.Close() }, nil
}

func fileLogger(dir string) (*zap.Logger, string, error) {
	path := filepath.Join(dir, "worker.log")
	f, err := os.Create(path)
	if err != nil {
		return nil, "", err
	}
	core := zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.Lock(f), zap.InfoLevel)
	return zap.New(core), path, nil
}

func randomToken() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// freeAddr returns a free loopback address.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// errIncomplete reports members that did not end as the demo predicts.
var errIncomplete = errors.New("not every member ended as predicted")
