package redisconn

import (
	"strings"
	"testing"

	"github.com/hibiken/asynq"
)

func TestParseKnownSchemes(t *testing.T) {
	t.Parallel()
	opt, err := Parse("redis://user:pw@127.0.0.1:6380/3", Options{})
	if o, ok := opt.(asynq.RedisClientOpt); err != nil || !ok || o.Addr != "127.0.0.1:6380" || o.DB != 3 || o.Username != "user" || o.Password != "pw" || o.TLSConfig != nil {
		t.Errorf("redis:// = %+v, %v", opt, err)
	}
	opt, err = Parse("rediss://:pw@cache.internal:6380/0", Options{})
	if o, ok := opt.(asynq.RedisClientOpt); err != nil || !ok || o.TLSConfig == nil || o.TLSConfig.ServerName != "cache.internal" {
		t.Errorf("rediss:// = %+v, %v; want TLS for cache.internal", opt, err)
	}
	opt, err = Parse("redis-sentinel://:pw@10.0.0.1:26379,10.0.0.2:26379/2?master=main", Options{})
	if o, ok := opt.(asynq.RedisFailoverClientOpt); err != nil || !ok || o.MasterName != "main" || len(o.SentinelAddrs) != 2 || o.DB != 2 || o.Password != "pw" {
		t.Errorf("redis-sentinel:// = %+v, %v", opt, err)
	}
}

func TestParseErrorsHideThePassword(t *testing.T) {
	t.Parallel()
	for _, raw := range []string{"http://:secretpw@host:1/0", "redis://:secretpw@host:1/x", "redis-sentinel://:secretpw@h:1/0", "rediss://:secretpw@h:1/0?"} {
		_, err := Parse(raw, Options{CAFile: "/nonexistent/ca.pem"})
		if err == nil {
			t.Errorf("%s: no error", Redact(raw))
			continue
		}
		if strings.Contains(err.Error(), "secretpw") {
			t.Errorf("error shows the password: %v", err)
		}
	}
	if got := Redact("redis://:secretpw@h:1/0"); strings.Contains(got, "secretpw") {
		t.Errorf("Redact = %s", got)
	}
}
