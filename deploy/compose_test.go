package deploy_test

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"go.yaml.in/yaml/v3"

	"github.com/rdonboard/rdonboard/internal/worker"
)

// loadCompose loads compose.yaml as `docker compose` would, with the
// profiles given and the token the file requires.
func loadCompose(t *testing.T, profiles ...string) *types.Project {
	t.Helper()
	opts, err := cli.NewProjectOptions([]string{"compose.yaml"},
		cli.WithEnv([]string{"ONBOARD_CALLBACK_TOKEN=compose-test-token-0123"}),
		cli.WithProfiles(profiles), cli.WithWorkingDirectory("."))
	if err != nil {
		t.Fatal(err)
	}
	p, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("compose.yaml does not load: %v", err)
	}
	return p
}

// TestComposeStack checks the stack: Redis keeps an append-only file on a
// volume, two workers drain within their grace period, the mail catcher
// and the monitoring are there, and the sandbox comes only with its
// profile.
func TestComposeStack(t *testing.T) {
	t.Parallel()
	p := loadCompose(t)
	redis := service(t, p, "redis")
	if cmd := strings.Join(redis.Command, " "); !strings.Contains(cmd, "--appendonly yes") {
		t.Errorf("redis command %q: want --appendonly yes", cmd)
	}
	if len(redis.Volumes) == 0 || redis.Volumes[0].Type != types.VolumeTypeVolume || redis.Volumes[0].Target != "/data" {
		t.Errorf("redis volumes %+v: want a named volume on /data", redis.Volumes)
	}
	for _, name := range []string{"worker-1", "worker-2"} {
		w := service(t, p, name)
		if w.StopGracePeriod == nil || time.Duration(*w.StopGracePeriod) <= worker.ShutdownTimeout {
			t.Errorf("%s stop_grace_period %v: want above the shutdown timeout %s", name, w.StopGracePeriod, worker.ShutdownTimeout)
		}
		if w.Build == nil || w.Build.Dockerfile != "deploy/Dockerfile" {
			t.Errorf("%s is not built from deploy/Dockerfile: %+v", name, w.Build)
		}
		if v := w.Environment["ONBOARD_SMTP_URL"]; v == nil || !strings.Contains(*v, "mailpit:1025") {
			t.Errorf("%s does not send owner emails to the mail catcher", name)
		}
	}
	if img := service(t, p, "mailpit").Image; !strings.HasPrefix(img, "axllent/mailpit") {
		t.Errorf("mail catcher image %q", img)
	}
	service(t, p, "grafana")
	if _, err := p.GetService("sandbox"); err == nil {
		t.Error("the sandbox runs without its profile")
	}
	sb := service(t, loadCompose(t, "sandbox"), "sandbox")
	if !slices.Equal(sb.Profiles, []string{"sandbox"}) {
		t.Errorf("sandbox profiles %v", sb.Profiles)
	}
}

// TestComposePrometheusScrapesWorkers checks that the Prometheus of the
// stack scrapes every worker with the token mounted as its secret, and
// loads the alert rules.
func TestComposePrometheusScrapesWorkers(t *testing.T) {
	t.Parallel()
	p := loadCompose(t)
	prom := service(t, p, "prometheus")
	if len(prom.Secrets) != 1 || prom.Secrets[0].Source != "callback_token" {
		t.Fatalf("prometheus secrets %+v: want callback_token", prom.Secrets)
	}
	var cfg struct {
		RuleFiles     []string `yaml:"rule_files"`
		ScrapeConfigs []struct {
			Authorization struct {
				CredentialsFile string `yaml:"credentials_file"`
			} `yaml:"authorization"`
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	data, err := os.ReadFile("prometheus/compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, &cfg); err != nil || len(cfg.ScrapeConfigs) != 1 {
		t.Fatalf("prometheus/compose.yml: %v, %d scrape configs", err, len(cfg.ScrapeConfigs))
	}
	sc := cfg.ScrapeConfigs[0]
	if sc.Authorization.CredentialsFile != "/run/secrets/callback_token" {
		t.Errorf("scrape credentials_file %q: want the compose secret", sc.Authorization.CredentialsFile)
	}
	var targets []string
	for _, s := range sc.StaticConfigs {
		targets = append(targets, s.Targets...)
	}
	if !slices.Equal(targets, []string{"worker-1:8080", "worker-2:8080"}) {
		t.Errorf("targets %v: want both workers", targets)
	}
	if !slices.Contains(cfg.RuleFiles, "alerts.yml") {
		t.Errorf("rule files %v: want alerts.yml", cfg.RuleFiles)
	}
}

func service(t *testing.T, p *types.Project, name string) types.ServiceConfig {
	t.Helper()
	s, err := p.GetService(name)
	if err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	return s
}
