package reliability

import (
	"flag"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/rdonboard/rdonboard/internal/buildtest"
)

// bin holds the paths of the binaries under test, built once by TestMain.
var bin struct{ worker, enqueue, sandbox string }

// faultTestsAtOnce is how many tests run at once unless -test.parallel is
// given: the fault tests spend most of their time waiting (an outage to
// end, a lease to expire) while their child processes do the work, so they
// run together rather than GOMAXPROCS at a time.
const faultTestsAtOnce = 16

func TestMain(m *testing.M) {
	flag.Parse()
	if !flagGiven("test.parallel") {
		_ = flag.Set("test.parallel", fmt.Sprint(faultTestsAtOnce))
	}
	var dir string
	buildtest.Main(&dir, func() int {
		bin.worker = filepath.Join(dir, "worker")
		bin.enqueue = filepath.Join(dir, "enqueue")
		bin.sandbox = filepath.Join(dir, "sandbox")
		// Each test starts the redis-server it needs (redistest.Start) and
		// stops it when it ends: there is no package server to stop here.
		return m.Run()
	}, "github.com/rdonboard/rdonboard/cmd/worker", "github.com/rdonboard/rdonboard/cmd/enqueue",
		"github.com/rdonboard/rdonboard/cmd/sandbox")
}

// long skips, under -short, a test that runs for a minute or more.
func long(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("runs for a minute or more: not in -short")
	}
}

func flagGiven(name string) bool {
	given := false
	flag.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	return given
}
