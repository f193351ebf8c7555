// Package cli holds what the rdonboard commands (enqueue, worker) share
// around their cobra roots: running until a signal, settings and the
// logger, the Redis connection and the cloud client's settings.
package cli

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/rdonboard/rdonboard/internal/cloud"
	"github.com/rdonboard/rdonboard/internal/config"
	"github.com/rdonboard/rdonboard/internal/logging"
	"github.com/rdonboard/rdonboard/internal/redisconn"
)

// pingTimeout is how long Connect waits for Redis to answer.
const pingTimeout = 5 * time.Second

// Execute runs root with a context that SIGINT or SIGTERM cancels, and
// returns the command's error.
func Execute(root *cobra.Command) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return root.ExecuteContext(ctx)
}

// Setup is the start of every subcommand of a root that registered cfg's
// flags of group g: it applies the environment to the flags not given,
// checks every setting of g when validate is set (a command that checks
// later passes false), and opens the logger cfg asks for, which the Redis
// driver's messages go to as well.
func Setup(cmd *cobra.Command, cfg *config.Config, g config.Group, validate bool) (*zap.Logger, error) {
	if err := cfg.Resolve(cmd.Root().PersistentFlags(), g); err != nil {
		return nil, err
	}
	if validate {
		if err := cfg.Validate(g); err != nil {
			return nil, err
		}
	}
	log, err := logging.New(cfg.LogFormat, cfg.LogLevel)
	if err != nil {
		return nil, err
	}
	redisconn.LogTo(log)
	return log, nil
}

// Connect opens Redis at cfg.RedisURL (trusting cfg.RedisCAFile) with a
// pool of poolSize and checks that it answers. When only the check fails,
// the client is returned with the error, for the caller to close.
func Connect(ctx context.Context, cfg config.Config, poolSize int) (redis.UniversalClient, error) {
	opt, err := redisconn.Parse(cfg.RedisURL, redisconn.Options{CAFile: cfg.RedisCAFile, PoolSize: poolSize})
	if err != nil {
		return nil, err
	}
	rdb := redisconn.Open(opt)
	return rdb, redisconn.Ping(ctx, rdb, cfg.RedisURL, pingTimeout)
}

// CloudConfig is the cloud client's settings from cfg, assuming the role
// that ALIBABA_CLOUD_ROLE_ARN names, if any, and logging to log's "cloud".
func CloudConfig(cfg config.Config, log *zap.Logger) cloud.Config {
	return cloud.Config{
		Endpoint: cfg.CloudEndpoint, Region: cfg.Region, RoleARN: os.Getenv("ALIBABA_CLOUD_ROLE_ARN"),
		ReadTimeout: cfg.CloudTimeout, Logger: log.Named("cloud"),
	}
}
