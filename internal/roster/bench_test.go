package roster

import (
	"bytes"
	"io"
	"testing"
)

// BenchmarkReader reads a generated file of 100k rows, one in 50 invalid.
func BenchmarkReader(b *testing.B) {
	const n = 100_000
	var file bytes.Buffer
	if err := Generate(&file, n, 50); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(file.Len()))
	b.ReportAllocs()
	runs := 0
	for b.Loop() {
		r, err := NewReader(bytes.NewReader(file.Bytes()))
		if err != nil {
			b.Fatal(err)
		}
		rows := 0
		for ; ; rows++ {
			if _, err := r.Next(); err == io.EOF {
				break
			} else if err != nil {
				b.Fatal(err)
			}
		}
		if rows != n {
			b.Fatalf("read %d rows; want %d", rows, n)
		}
		runs++
	}
	b.ReportMetric(float64(n*runs)/b.Elapsed().Seconds(), "rows/s")
}
