package reliability

import (
	"context"
	"encoding/csv"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/internal/redistest"
	"github.com/rdonboard/rdonboard/internal/roster"
	"github.com/rdonboard/rdonboard/tasks"
)

// TestMillionRowRoster feeds the built `enqueue members` a roster of a
// million rows, one in ten of them bad (a short phone, a foreign number, an
// account ID with a letter, a repeated account ID): every bad row is in the
// rejects file, every good row is a pending member with its send task
// queued, and the exit status is 1.
func TestMillionRowRoster(t *testing.T) {
	t.Parallel()
	long(t)
	const rows, badEvery = 1_000_000, 10
	const bad = rows / badEvery
	srv := redistest.Start(t, redistest.Options{})
	path := filepath.Join(t.TempDir(), "million.csv")
	writeGenerated(t, path, rows, badEvery)

	env := childEnv(map[string]string{"REDIS_URL": srv.URL(0), "ONBOARD_LOG_FORMAT": "json"})
	run := runCLI(t, bin.enqueue, env, "members", path, "--batch", "million", "--format", "json")
	if run.code != 1 {
		t.Fatalf("exit %d, want 1 (some rows rejected)\n%s", run.code, run.stdout)
	}
	if got := strings.Count(run.stderr, ": rejected: "); got != bad {
		t.Errorf("stderr reports %d rejected rows, want %d", got, bad)
	}
	rejects := strings.TrimSuffix(path, ".csv") + ".rejects.csv"
	requireLines(t, rejects, bad+1)
	requireRejectReasons(t, rejects, bad)

	rdb := openRedis(t, srv.URL(0))
	counts, err := member.New(rdb, member.Options{}).Counts(context.Background(), "million")
	if err != nil || len(counts) != 1 {
		t.Fatalf("counts: %v %v", counts, err)
	}
	if got := counts[0].States[member.Pending]; got != rows-bad || counts[0].Total() != rows-bad {
		t.Errorf("%d pending members (%d in all), want %d", got, counts[0].Total(), rows-bad)
	}
	requireQueueSize(t, rdb, tasks.QueueSend, rows-bad)
}

func writeGenerated(t *testing.T, path string, n, badEvery int) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatalf("create roster: %v", err)
	}
	defer f.Close()
	if err := roster.Generate(f, n, badEvery); err != nil {
		t.Fatalf("generate roster: %v", err)
	}
}

// requireRejectReasons checks that the want rejects are the four kinds of
// bad row Generate writes, a quarter each.
func requireRejectReasons(t *testing.T, path string, want int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("rejects: %v", err)
	}
	defer f.Close()
	reasons := map[string]int{}
	rd := csv.NewReader(f)
	rd.FieldsPerRecord = 4
	for i := 0; ; i++ {
		rec, err := rd.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("rejects: %v", err)
		}
		if i > 0 {
			reasons[reasonKind(rec[3])]++
		}
	}
	if len(reasons) != 4 {
		t.Errorf("rejects give %d reasons, want 4 (short phone, foreign number, bad account ID, repeated): %v", len(reasons), reasons)
	}
	for kind, n := range reasons {
		if n != want/4 {
			t.Errorf("%d rows rejected for %q, want %d", n, kind, want/4)
		}
	}
}

// variable matches what differs between two rejects for the same reason.
var variable = regexp.MustCompile(`"[^"]*"|[0-9]+`)

// reasonKind is a reject reason without what varies per row.
func reasonKind(reason string) string { return variable.ReplaceAllString(reason, "") }
