package roster

import (
	"bufio"
	"io"
	"strconv"
)

// generatedBase is the first account ID Generate writes: 16 digits, the
// length of real account IDs.
const generatedBase = 1_000_000_000_000_000

// Generate writes a member CSV of n data rows to w, for tests, benchmarks
// and trials. The header account_id,mobile_phone is line 1 and data row i
// (from 0) is line i+2. Valid rows have distinct 16-digit account IDs and
// phones in every accepted spelling in turn (86-139…, +86 139 …,
// +86139…, 139…, and padded with spaces). When badEvery > 0, rows
// badEvery-1, 2·badEvery-1, … are invalid, in turn: a phone one digit
// short, a foreign number (+1), an account ID with a letter, and the
// account ID of the previous valid row again (a bad phone while there is
// none). So n/badEvery rows are rejected and the others accepted. The
// output depends on n and badEvery only.
func Generate(w io.Writer, n int, badEvery int) error {
	bw := bufio.NewWriter(w)
	bw.WriteString("account_id,mobile_phone\n")
	var line []byte
	lastValid := -1
	for i := range n {
		line = line[:0]
		if badEvery > 0 && i%badEvery == badEvery-1 {
			line = appendBad(line, i, (i/badEvery)%4, lastValid)
		} else {
			line = appendValid(line, i)
			lastValid = i
		}
		if _, err := bw.Write(line); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// appendValid appends valid row i.
func appendValid(b []byte, i int) []byte {
	b = strconv.AppendInt(b, generatedBase+int64(i), 10)
	b = append(b, ',')
	d := generatedDigits(i) // 8 digits after 139
	switch i % 5 {
	case 0:
		b = append(b, "86-139"...)
		b = append(b, d...)
	case 1:
		b = append(b, "+86 139 "...)
		b = append(b, d[:4]...)
		b = append(b, ' ')
		b = append(b, d[4:]...)
	case 2:
		b = append(b, "+86139"...)
		b = append(b, d...)
	case 3:
		b = append(b, "139"...)
		b = append(b, d...)
	default:
		b = append(b, "  139-"...)
		b = append(b, d[:4]...)
		b = append(b, '-')
		b = append(b, d[4:]...)
		b = append(b, "  "...)
	}
	return append(b, '\n')
}

// appendBad appends invalid row i of the given kind.
func appendBad(b []byte, i, kind, lastValid int) []byte {
	if kind == 3 && lastValid < 0 {
		kind = 0
	}
	d := generatedDigits(i)
	switch kind {
	case 0: // one digit short
		b = strconv.AppendInt(b, generatedBase+int64(i), 10)
		b = append(b, ",139"...)
		b = append(b, d[:7]...)
	case 1: // not mainland
		b = strconv.AppendInt(b, generatedBase+int64(i), 10)
		b = append(b, ",+1 555 "...)
		b = append(b, d[:7]...)
	case 2: // not digits
		b = strconv.AppendInt(b, generatedBase+int64(i), 10)
		b = append(b, "x,139"...)
		b = append(b, d...)
	default: // repeated
		b = strconv.AppendInt(b, generatedBase+int64(lastValid), 10)
		b = append(b, ",139"...)
		b = append(b, d...)
	}
	return append(b, '\n')
}

// generatedDigits returns 8 digits for row i, spread over the range.
func generatedDigits(i int) []byte {
	v := (int64(i) * 7919) % 100_000_000
	s := strconv.AppendInt(make([]byte, 0, 8), v+100_000_000, 10) // 9 digits, leading 1
	return s[1:]
}
