package config

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func parse(t *testing.T, g Group, args ...string) (Config, *pflag.FlagSet, error) {
	t.Helper()
	var c Config
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	c.Register(fs, g)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return c, fs, c.Resolve(fs, g)
}

func TestEnvironmentFillsWhatFlagsLeaveOut(t *testing.T) {
	t.Setenv("ONBOARD_SEND_QPS", "2.5")
	t.Setenv("ONBOARD_BIND_QPS", "7")
	t.Setenv("ONBOARD_CALLBACK_TOKEN", "from-env")
	c, _, err := parse(t, Worker, "--bind-qps", "3")
	if err != nil {
		t.Fatal(err)
	}
	if c.SendQPS != 2.5 || c.BindQPS != 3 || c.CallbackToken != "from-env" || c.GetQPS != 20 {
		t.Errorf("send %g bind %g get %g token %q; want 2.5 (env), 3 (flag), 20 (default), from-env",
			c.SendQPS, c.BindQPS, c.GetQPS, c.CallbackToken)
	}
}

func TestSecretsFromTheEnvironmentStayOutOfHelp(t *testing.T) {
	t.Setenv("ONBOARD_CALLBACK_TOKEN", "tok-3f9a")
	t.Setenv("REDIS_URL", "redis://:pw-77c1@10.0.0.9:6379/0")
	_, fs, err := parse(t, Worker)
	if err != nil {
		t.Fatal(err)
	}
	var help bytes.Buffer
	fs.SetOutput(&help)
	fs.PrintDefaults()
	if strings.Contains(help.String(), "tok-3f9a") || strings.Contains(help.String(), "pw-77c1") {
		t.Errorf("--help shows a secret:\n%s", help.String())
	}
}

func TestBadValuesAreNamed(t *testing.T) {
	t.Setenv("ONBOARD_CONCURRENCY", "many")
	if _, _, err := parse(t, Worker); err == nil || !strings.Contains(err.Error(), "ONBOARD_CONCURRENCY") {
		t.Errorf("unparsable variable: %v, want an error naming ONBOARD_CONCURRENCY", err)
	}
	c := Defaults()
	c.SendQPS, c.CloudEndpoint, c.ReconcileCron, c.LogFormat = 0, "resourcemanager.aliyuncs.com", "every minute", "xml"
	err := c.Validate(Worker)
	for _, name := range []string{"ONBOARD_SEND_QPS", "ONBOARD_CLOUD_ENDPOINT", "ONBOARD_RECONCILE_CRON", "ONBOARD_LOG_FORMAT"} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("Validate: %v; want it to name %s", err, name)
		}
	}
}

func TestDefaultsMatchTheContract(t *testing.T) {
	c := Defaults()
	if c.RedisURL != "redis://127.0.0.1:6379/0" || c.CloudEndpoint != "https://resourcemanager.aliyuncs.com" ||
		c.Region != "cn-hangzhou" || c.SendQPS != 5 || c.BindQPS != 10 || c.GetQPS != 20 || c.Concurrency != 20 ||
		c.HTTPAddr != "127.0.0.1:8080" || c.CallbackToken != "" || c.MaxSends != 3 || c.MaxCodeAttempts != 5 ||
		c.ReconcileCron != "*/10 * * * *" || c.CloudTimeout != 15*time.Second {
		t.Errorf("defaults differ from the README's table: %+v", c)
	}
	if err := c.Validate(Worker); err != nil {
		t.Errorf("defaults do not validate: %v", err)
	}
}
