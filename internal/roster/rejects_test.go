package roster

import (
	"errors"
	"strings"
	"testing"

	"github.com/gocarina/gocsv"
)

func TestRejectsWriterHeaderOnly(t *testing.T) {
	t.Parallel()
	if got, want := rejectsFile(t, false), "line,account_id,mobile_phone,reason\n"; got != want {
		t.Errorf("rejects file = %q; want %q", got, want)
	}
}

func TestRejectsWriterMasks(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name              string
		reveal            bool
		id, phone         string
		wantID, wantPhone string
	}{
		{"valid phone shown normalized", false, "1001", " +86 139 0000 1234 ", "1001", "86-139****1234"},
		{"invalid phone", false, "1001", "+1 555 123 4567", "1001", "***********4567"},
		{"short phone", false, "1001", "139", "1001", "****"},
		{"no phone", false, "1001", "", "1001", ""},
		{"account ID holding a phone", false, "13900001234", "1001", "*******1234", "****"},
		{"account ID with a phone in it", false, "tel 139 0000 1234", "", "tel *** **** 1234", ""},
		{"account ID kept", false, "1386606283481234", "", "1386606283481234", ""},
		{"revealed", true, "13900001234", " +86 139 0000 1234", "13900001234", " +86 139 0000 1234"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := writeRejects(t, tc.reveal, Reject{7, tc.id, tc.phone, "why"})
			want := []Reject{{7, tc.wantID, tc.wantPhone, "why"}}
			if len(got) != 1 || got[0] != want[0] {
				t.Errorf("rejects = %#v; want %#v", got, want)
			}
		})
	}
}

// Reasons and values with commas, quotes and line breaks come back intact.
func TestRejectsWriterRoundTrip(t *testing.T) {
	t.Parallel()
	in := []Reject{
		{2, "12ab", "x", `account_id "12ab" must contain digits only; ` + notMobile},
		{3, "1,2", "", "malformed CSV: a \" in an unquoted field"},
		{4, "a\nb", "", "line\nbreak"},
		{5, "\xff1", "", "bad \xfe UTF-8"},
	}
	got := writeRejects(t, true, in...)
	in[3] = Reject{5, "\uFFFD1", "", "bad \uFFFD UTF-8"}
	if len(got) != len(in) {
		t.Fatalf("read back %d rejects; want %d", len(got), len(in))
	}
	for i := range in {
		if got[i] != in[i] {
			t.Errorf("reject %d = %#v; want %#v", i, got[i], in[i])
		}
	}
}

func TestRejectsWriterFlushError(t *testing.T) {
	t.Parallel()
	boom := errors.New("disk full")
	w, err := NewRejectsWriter(failingWriter{boom}, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(2, "1001", "", "missing mobile_phone"); err != nil {
		t.Fatal(err) // buffered
	}
	if err := w.Flush(); !errors.Is(err, boom) {
		t.Errorf("Flush = %v; want %v", err, boom)
	}
}

type failingWriter struct{ err error }

func (w failingWriter) Write([]byte) (int, error) { return 0, w.err }

// writeRejects writes rejects and reads the file back with gocsv.
func writeRejects(t *testing.T, reveal bool, rejects ...Reject) []Reject {
	t.Helper()
	file := rejectsFile(t, reveal, rejects...)
	var got []Reject
	if err := gocsv.UnmarshalString(file, &got); err != nil {
		t.Fatalf("read back %q: %v", file, err)
	}
	return got
}

// rejectsFile writes rejects through a RejectsWriter and returns the file.
func rejectsFile(t *testing.T, reveal bool, rejects ...Reject) string {
	t.Helper()
	var b strings.Builder
	w, err := NewRejectsWriter(&b, reveal)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rejects {
		if err := w.Write(r.Line, r.AccountID, r.MobilePhone, r.Reason); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}
