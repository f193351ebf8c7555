package bench

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/rdonboard/rdonboard/internal/redistest"
	"github.com/rdonboard/rdonboard/internal/roster"
)

// rssRows is the size of the roster the producer's memory is measured on.
const rssRows = 1_000_000

// BenchmarkEnqueueRSS runs the real `enqueue members` binary on a generated
// 1M-row roster against a real redis-server and reports the child's peak
// resident set. Target: ≤ 150 MB (the reader streams, so memory does not
// grow with the file).
func BenchmarkEnqueueRSS(b *testing.B) {
	dir := b.TempDir()
	bin := buildEnqueue(b, dir)
	file := filepath.Join(dir, "members.csv")
	writeRoster(b, file, rssRows)
	url := redistest.URL(b)
	rdb := newClient(b, url, 2)
	var peakMB, rowsPerSec float64
	load := startLoad(b, rdb)
	for range b.N {
		start := time.Now()
		cmd := exec.Command(bin, "members", file, "--batch", "rss")
		cmd.Env = append(os.Environ(), "REDIS_URL="+url, "ONBOARD_LOG_FORMAT=json")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			b.Fatalf("enqueue members: %v\nstdout: %s\nstderr: %s", err, out, tail(stderr.Bytes(), 2000))
		}
		rowsPerSec = rssRows / time.Since(start).Seconds()
		ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		peakMB = float64(ru.Maxrss) / 1024 // KiB on Linux
		b.Logf("enqueue members: %s", bytes.TrimSpace(out))
		flush(b, rdb)
	}
	b.ReportMetric(peakMB, "peak-RSS-MB")
	b.ReportMetric(rowsPerSec, "rows/s")
	b.ReportMetric(load.others(b), "others-cores")
}

// buildEnqueue builds cmd/enqueue into dir.
func buildEnqueue(b *testing.B, dir string) string {
	b.Helper()
	bin := filepath.Join(dir, "enqueue")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/rdonboard/rdonboard/cmd/enqueue")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// writeRoster writes a generated roster of n valid rows to path.
func writeRoster(b *testing.B, path string, n int) {
	b.Helper()
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	if err := roster.Generate(w, n, 0); err != nil {
		b.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
