package logbuf_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/rdonboard/rdonboard/internal/logbuf"
)

// TestConcurrentWritersKeepEveryLine: lines written from many goroutines
// all arrive whole, and Tail gives the last ones.
func TestConcurrentWritersKeepEveryLine(t *testing.T) {
	t.Parallel()
	var b logbuf.Buffer
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 100 {
				fmt.Fprintf(&b, "writer %d line %d\n", w, i)
			}
		}()
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 800 {
		t.Fatalf("%d lines, want 800", len(lines))
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "writer ") {
			t.Fatalf("torn line %q", l)
		}
	}
	b.Write([]byte("last one\n"))
	if got := b.Tail(1); got != "last one" {
		t.Errorf("Tail(1) = %q, want %q", got, "last one")
	}
	if got := strings.Count(b.Tail(3), "\n"); got != 2 {
		t.Errorf("Tail(3) has %d line breaks, want 2", got)
	}
}
