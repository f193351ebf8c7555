package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/rdonboard/rdonboard/internal/buildtest"
)

// A callback token shorter than 16 bytes stops the worker at start with
// exit 2 and an error naming the variable, and the token is not echoed.
func TestShortTokenStopsTheWorker(t *testing.T) {
	r := buildtest.Run(t, filepath.Join(binDir, "worker"), []string{"REDIS_URL=redis://127.0.0.1:1/0",
		"ONBOARD_CALLBACK_TOKEN=short-7f3a", "ONBOARD_LOG_FORMAT=json"}, "run")
	if r.Code != 2 || !strings.Contains(r.Stderr, "ONBOARD_CALLBACK_TOKEN") || strings.Contains(r.Stderr, "short-7f3a") {
		t.Errorf("exit %d, stderr %q; want exit 2 naming ONBOARD_CALLBACK_TOKEN without showing it", r.Code, r.Stderr)
	}
}
