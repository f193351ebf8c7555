package grafana_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

type dashboard struct {
	UID        string  `json:"uid"`
	Title      string  `json:"title"`
	Panels     []panel `json:"panels"`
	Templating struct {
		List []struct {
			Name string `json:"name"`
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	Title      string `json:"title"`
	Type       string `json:"type"`
	Datasource struct {
		UID string `json:"uid"`
	} `json:"datasource"`
	GridPos struct{ X, Y, W, H int } `json:"gridPos"`
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
}

// TestDashboard checks rdonboard.json: it imports into any Grafana with a
// Prometheus data source (picked by the datasource variable), every panel
// queries something and fits the grid, and promtool accepts every query
// when it is installed.
func TestDashboard(t *testing.T) {
	raw, err := os.ReadFile("rdonboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("rdonboard.json: %v", err)
	}
	vars := map[string]bool{}
	for _, v := range d.Templating.List {
		vars[v.Name] = true
	}
	if d.UID == "" || d.Title == "" || !vars["datasource"] || !vars["batch"] {
		t.Errorf("dashboard uid %q, title %q, variables %v: want both set and $datasource, $batch", d.UID, d.Title, vars)
	}
	var exprs []string
	for _, p := range d.Panels {
		if p.Type == "row" {
			continue
		}
		if p.Datasource.UID != "${datasource}" || len(p.Targets) == 0 || p.GridPos.X+p.GridPos.W > 24 || p.GridPos.W == 0 {
			t.Errorf("panel %q: datasource %q, %d queries, grid %+v", p.Title, p.Datasource.UID, len(p.Targets), p.GridPos)
		}
		for _, q := range p.Targets {
			exprs = append(exprs, q.Expr)
		}
	}
	checkQueries(t, exprs)
}

// checkQueries has promtool parse each query, as a recording rule with
// Grafana's variables filled in.
func checkQueries(t *testing.T, exprs []string) {
	path, err := exec.LookPath("promtool")
	if err != nil {
		t.Log("promtool not installed: queries not parsed")
		return
	}
	fill := strings.NewReplacer("$__rate_interval", "5m", "$batch", ".*")
	var b strings.Builder
	b.WriteString("groups:\n  - name: dashboard\n    rules:\n")
	for i, e := range exprs {
		q, _ := json.Marshal(fill.Replace(e))
		fmt.Fprintf(&b, "      - record: dashboard:query%d\n        expr: %s\n", i, q)
	}
	file := filepath.Join(t.TempDir(), "queries.yml")
	if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(path, "check", "rules", file).CombinedOutput(); err != nil {
		t.Errorf("promtool rejects a dashboard query: %v\n%s", err, out)
	}
}
