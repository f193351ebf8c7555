// Package clitest runs the command of the package under test as a process,
// the way a user would, beside a Redis server of the tests' own.
package clitest

import (
	"path/filepath"
	"testing"

	"github.com/rdonboard/rdonboard/internal/buildtest"
	"github.com/rdonboard/rdonboard/internal/redistest"
)

// binDir holds the binary built by Main.
var binDir string

// Main builds the package under test (the test's working directory) and
// runs m with a Redis server for redistest; a package's TestMain calls it.
func Main(m *testing.M) {
	buildtest.Main(&binDir, func() int { return redistest.Run(m) }, ".")
}

// Run runs the binary called name (the package's folder) with
// REDIS_URL=redisURL and JSON logs, then env, and args.
func Run(t testing.TB, name, redisURL string, env []string, args ...string) buildtest.Result {
	t.Helper()
	base := []string{"REDIS_URL=" + redisURL, "ONBOARD_LOG_FORMAT=json"}
	return buildtest.Run(t, filepath.Join(binDir, name), append(base, env...), args...)
}
