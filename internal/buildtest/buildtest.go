// Package buildtest builds the project's commands for tests that run them
// as processes, and runs them the way a user would.
package buildtest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Build compiles the main packages pkgs (import paths or ./dirs) into dir;
// each binary is named after its package's folder.
func Build(dir string, pkgs ...string) error {
	// go test puts its own go first on PATH.
	args := append([]string{"build", "-o", dir + string(filepath.Separator)}, pkgs...)
	if out, err := exec.Command("go", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("go build %v: %v\n%s", pkgs, err, out)
	}
	return nil
}

// Main builds pkgs into a temporary folder, sets *dir to it, runs run (a
// package's tests) and removes the folder; it exits with run's code.
func Main(dir *string, run func() int, pkgs ...string) {
	tmp, err := os.MkdirTemp("", "rdonboard-bin-")
	if err == nil {
		err = Build(tmp, pkgs...)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "buildtest:", err)
		os.Exit(2)
	}
	*dir = tmp
	code := run()
	_ = os.RemoveAll(tmp)
	os.Exit(code)
}

// Result is how a command ended.
type Result struct {
	Code           int
	Stdout, Stderr string
}

// Run runs bin with args, the test's environment plus env, and returns its
// exit code and output.
func Run(t testing.TB, bin string, env []string, args ...string) Result {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	code := 0
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("run %s %v: %v", filepath.Base(bin), args, err)
	}
	return Result{Code: code, Stdout: out.String(), Stderr: errb.String()}
}
