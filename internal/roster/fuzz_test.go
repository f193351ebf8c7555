package roster

import (
	"bytes"
	"errors"
	"io"
	"regexp"
	"testing"
)

var normalized = regexp.MustCompile(`^86-1\d{10}$`)

// FuzzReader feeds arbitrary bytes to a Reader. It must never panic; rows
// come out once each, on increasing lines within the file; valid rows
// carry a normalized phone and an account ID seen once; no reason shows a
// phone number; and at the end Offset is the size of the file.
// The seed corpus is testdata/fuzz/FuzzReader.
func FuzzReader(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := NewReader(bytes.NewReader(data))
		if err != nil {
			return
		}
		lines := bytes.Count(data, []byte("\n")) + 1
		ids := map[string]int{}
		last, offset := 0, r.Offset()
		for {
			row, err := r.Next()
			if r.Offset() < offset || r.Offset() > int64(len(data)) {
				t.Fatalf("Offset %d after %d, file of %d bytes", r.Offset(), offset, len(data))
			}
			offset = r.Offset()
			if err == io.EOF {
				if offset != int64(len(data)) {
					t.Fatalf("Offset at the end = %d; want %d", offset, len(data))
				}
				return
			}
			if err != nil {
				if !errors.Is(err, ErrUnclosedQuote) && !errors.Is(err, ErrRecordTooLong) {
					t.Fatalf("Next: unexpected error %v", err)
				}
				return
			}
			if row.Line <= last || row.Line > lines {
				t.Fatalf("row on line %d after line %d, file of %d lines", row.Line, last, lines)
			}
			last = row.Line
			checkRow(t, row, ids)
		}
	})
}

func checkRow(t *testing.T, row Row, ids map[string]int) {
	t.Helper()
	if row.Reject != "" {
		if row.Phone != "" {
			t.Fatalf("rejected row with a phone: %#v", row)
		}
		if phoneRun(row.Reject) {
			t.Fatalf("reason shows a phone number: %q", row.Reject)
		}
		return
	}
	if !normalized.MatchString(row.Phone) {
		t.Fatalf("valid row with phone %q", row.Phone)
	}
	if !validAccountID(row.AccountID) {
		t.Fatalf("valid row with account ID %q", row.AccountID)
	}
	if first, dup := ids[row.AccountID]; dup {
		t.Fatalf("account ID %q valid on lines %d and %d", row.AccountID, first, row.Line)
	}
	ids[row.AccountID] = row.Line
}

// phoneRun reports whether s holds a run of digits that looks like a
// phone number.
func phoneRun(s string) bool {
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		j := i
		for j < len(rs) && isPhoneRune(rs[j]) {
			j++
		}
		if looksLikePhone(rs[i:j]) {
			return true
		}
		i = j
	}
	return false
}
