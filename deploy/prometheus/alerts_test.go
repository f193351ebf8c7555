package prometheus_test

import (
	"bytes"
	"os"
	"os/exec"
	"regexp"
	"testing"

	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"
)

// ruleFile is the shape of a Prometheus rule file.
type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

var alertName = regexp.MustCompile(`^Rdonboard[A-Z][A-Za-z]+$`)

// TestAlertRules checks alerts.yml: every rule named, with an expression,
// a valid hold time, a severity and an explanation; the alerts operators
// rely on are there; and promtool accepts the file when it is installed.
func TestAlertRules(t *testing.T) {
	raw, err := os.ReadFile("alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	var f ruleFile
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		t.Fatalf("alerts.yml: %v", err)
	}
	seen := map[string]bool{}
	for _, g := range f.Groups {
		if g.Name == "" || len(g.Rules) == 0 {
			t.Errorf("group %q: want a name and rules", g.Name)
		}
		for _, r := range g.Rules {
			if !alertName.MatchString(r.Alert) || seen[r.Alert] {
				t.Errorf("alert %q: want a unique name like RdonboardSomething", r.Alert)
			}
			seen[r.Alert] = true
			if _, err := model.ParseDuration(r.For); r.Expr == "" || err != nil {
				t.Errorf("%s: expr %q, for %q: want an expression and a duration", r.Alert, r.Expr, r.For)
			}
			if s := r.Labels["severity"]; s != "warning" && s != "critical" {
				t.Errorf("%s: severity %q, want warning or critical", r.Alert, s)
			}
			if r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
				t.Errorf("%s: want a summary and a description", r.Alert)
			}
		}
	}
	for _, want := range []string{"RdonboardQueuesPaused", "RdonboardFailuresRising", "RdonboardThrottlingSustained", "RdonboardReconcileDrift"} {
		if !seen[want] {
			t.Errorf("alerts.yml lacks %s", want)
		}
	}
	promtool(t, "check", "rules", "alerts.yml")
	promtool(t, "check", "config", "prometheus.yml")
}

// promtool runs promtool when it is installed (Debian: apt-get install
// prometheus); the structure checks above stand in for it otherwise.
func promtool(t *testing.T, args ...string) {
	t.Helper()
	path, err := exec.LookPath("promtool")
	if err != nil {
		t.Logf("promtool not installed: %v skipped", args)
		return
	}
	if out, err := exec.Command(path, args...).CombinedOutput(); err != nil {
		t.Errorf("promtool %v: %v\n%s", args, err, out)
	}
}
