package roster

import (
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/rdonboard/rdonboard/tasks"
)

const (
	header    = "account_id,mobile_phone\n"
	valid     = "86-13900001234"
	notMobile = "mobile_phone: not a mainland mobile number (11 digits starting with 1)"
	foreign   = "mobile_phone: only mainland China numbers (+86) are accepted"
)

// readAll reads every row of input, stopping at the first error.
func readAll(t *testing.T, input string) ([]Row, error) {
	t.Helper()
	r, err := NewReader(strings.NewReader(input))
	if err != nil {
		t.Fatalf("NewReader: %v", err)
	}
	return readRows(r)
}

// readRows reads the rows of r up to io.EOF, or up to the first other error,
// which it returns with the rows read before it.
func readRows(r *Reader) ([]Row, error) {
	var rows []Row
	for {
		row, err := r.Next()
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			return rows, err
		}
		rows = append(rows, row)
	}
}

func ok(line int, id, raw string) Row {
	return Row{Line: line, AccountID: id, Phone: valid, RawPhone: raw}
}

func rejected(line int, id, raw, reason string) Row {
	return Row{Line: line, AccountID: id, RawPhone: raw, Reject: reason}
}

// rowCase is a roster that must read without error, and the rows it gives.
type rowCase struct {
	name, input string
	want        []Row
}

// runRowCases reads each case's input in a parallel subtest and checks its rows.
func runRowCases(t *testing.T, cases []rowCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := readAll(t, tc.input)
			if err != nil {
				t.Fatalf("Next: %v", err)
			}
			assertRows(t, got, tc.want)
		})
	}
}

func assertRows(t *testing.T, got, want []Row) {
	t.Helper()
	if slices.Equal(got, want) {
		return
	}
	for i := range max(len(got), len(want)) {
		var g, w Row
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			t.Errorf("row %d:\n got %#v\nwant %#v", i, g, w)
		}
	}
}

func TestReaderAccepts(t *testing.T) {
	t.Parallel()
	runRowCases(t, []rowCase{{
		name:  "plain",
		input: header + "1001,13900001234\n",
		want:  []Row{ok(2, "1001", "13900001234")},
	}, {
		name:  "byte-order mark",
		input: "\ufeff" + header + "1001,13900001234\n",
		want:  []Row{ok(2, "1001", "13900001234")},
	}, {
		name:  "CRLF",
		input: "account_id,mobile_phone\r\n1001,13900001234\r\n1002,+8613900001234\r\n",
		want:  []Row{ok(2, "1001", "13900001234"), ok(3, "1002", "+8613900001234")},
	}, {
		name:  "no line break at the end",
		input: header + "1001,13900001234",
		want:  []Row{ok(2, "1001", "13900001234")},
	}, {
		name:  "blank lines count but are skipped",
		input: "\n\r\n" + header + "\n1001,13900001234\n\n  \n,,\n \t, \n1002,13900001234\n\n",
		want:  []Row{ok(5, "1001", "13900001234"), ok(10, "1002", "13900001234")},
	}, {
		name:  "header case and spaces",
		input: " Account_ID , MOBILE_PHONE \n1001,13900001234\n",
		want:  []Row{ok(2, "1001", "13900001234")},
	}, {
		name:  "aliases AccountId and SecureMobilePhone",
		input: "AccountId,SecureMobilePhone\n1001,13900001234\n",
		want:  []Row{ok(2, "1001", "13900001234")},
	}, {
		name:  "alias phone",
		input: "accountid,Phone\n1001,13900001234\n",
		want:  []Row{ok(2, "1001", "13900001234")},
	}, {
		name:  "extra columns in any order",
		input: "name,mobile_phone,note,account_id\nAlice,13900001234,first,1001\n",
		want:  []Row{ok(2, "1001", "13900001234")},
	}, {
		name: "every phone spelling, padded",
		input: header +
			"1001,86-13900001234\n" +
			"1002, +86 139 0000 1234 \n" +
			"1003,+8613900001234\n" +
			"1004,13900001234\n" +
			" 1005 ,\t139-0000-1234\t\n" +
			"1006,\" +86 139 0000 1234 \"\n",
		want: []Row{
			ok(2, "1001", "86-13900001234"),
			ok(3, "1002", "+86 139 0000 1234"),
			ok(4, "1003", "+8613900001234"),
			ok(5, "1004", "13900001234"),
			ok(6, "1005", "139-0000-1234"),
			ok(7, "1006", "+86 139 0000 1234"),
		},
	}, {
		name:  "quoted fields",
		input: "\"account_id\",\"mobile_phone\"\n\"1001\",\"13900001234\"\n",
		want:  []Row{ok(2, "1001", "13900001234")},
	}, {
		name:  "line breaks inside a quoted field keep the lines right",
		input: "account_id,mobile_phone,note\n1001,13900001234,\"one\ntwo\r\nthree\"\n\n1002,13900001234,x\n",
		want:  []Row{ok(2, "1001", "13900001234"), ok(6, "1002", "13900001234")},
	}, {
		name:  "empty trailing fields are padding",
		input: "account_id,mobile_phone,\n1001,13900001234,,\n1002,13900001234\n",
		want:  []Row{ok(2, "1001", "13900001234"), ok(3, "1002", "13900001234")},
	}, {
		name:  "leading zeros make another account ID",
		input: header + "7,13900001234\n007,13900001234\n07,13900001234\n",
		want:  []Row{ok(2, "7", "13900001234"), ok(3, "007", "13900001234"), ok(4, "07", "13900001234")},
	}, {
		name:  "longest account IDs",
		input: header + strings.Repeat("9", 32) + ",13900001234\n" + strings.Repeat("9", 20) + ",13900001234\n",
		want: []Row{
			ok(2, strings.Repeat("9", 32), "13900001234"),
			ok(3, strings.Repeat("9", 20), "13900001234"),
		},
	}, {
		name:  "header only",
		input: header,
		want:  nil,
	}})
}

func TestReaderRejects(t *testing.T) {
	t.Parallel()
	runRowCases(t, []rowCase{{
		name:  "missing account_id",
		input: header + ",13900001234\n",
		want:  []Row{rejected(2, "", "13900001234", "missing account_id")},
	}, {
		name:  "account_id not digits",
		input: header + "12ab,13900001234\n",
		want:  []Row{rejected(2, "12ab", "13900001234", `account_id "12ab" must contain digits only`)},
	}, {
		name:  "account_id holding a phone number",
		input: header + "13900001234x,13900001234\n",
		want: []Row{rejected(2, "13900001234x", "13900001234",
			`account_id "*******1234x" must contain digits only`)},
	}, {
		name:  "account_id of 16 digits mistyped",
		input: header + "138660628348123O,13900001234\n1386606283481234x,13900001234\n",
		want: []Row{
			rejected(2, "138660628348123O", "13900001234", `account_id "***********8123O" must contain digits only`),
			rejected(3, "1386606283481234x", "13900001234", `account_id "1386606283481234x" must contain digits only`),
		},
	}, {
		name:  "account_id mangled by a spreadsheet",
		input: header + "1.38660628348123E+15,13900001234\n",
		want: []Row{rejected(2, "1.38660628348123E+15", "13900001234", `account_id "1.**********8123E+15" is in scientific notation: `+
			"a spreadsheet changed it; format the column as text and export again")},
	}, {
		name:  "account_id too long",
		input: header + strings.Repeat("1", 33) + ",13900001234\n",
		want: []Row{rejected(2, strings.Repeat("1", 33), "13900001234",
			"account_id has 33 digits; at most 32 are allowed")},
	}, {
		name:  "missing mobile_phone",
		input: header + "1001,\n1002,  \n",
		want: []Row{
			rejected(2, "1001", "", "missing mobile_phone"),
			rejected(3, "1002", "", "missing mobile_phone"),
		},
	}, {
		name:  "not a mainland mobile number",
		input: header + "1001,1390000123\n1002,23900001234\n1003,139 0000 123\n",
		want: []Row{
			rejected(2, "1001", "1390000123", notMobile),
			rejected(3, "1002", "23900001234", notMobile),
			rejected(4, "1003", "139 0000 123", notMobile),
		},
	}, {
		name:  "another country",
		input: header + "1001,+1 555 123 4567\n1002,+852 9123 4567\n1003,1-555-123-4567\n",
		want: []Row{
			rejected(2, "1001", "+1 555 123 4567", foreign),
			rejected(3, "1002", "+852 9123 4567", foreign),
			rejected(4, "1003", "1-555-123-4567", foreign),
		},
	}, {
		name:  "both fields wrong",
		input: header + "12ab,x\n",
		want:  []Row{rejected(2, "12ab", "x", `account_id "12ab" must contain digits only; `+notMobile)},
	}, {
		name:  "both fields empty beside a filled column",
		input: "account_id,mobile_phone,name\n,,Alice\n",
		want:  []Row{rejected(2, "", "", "missing account_id; missing mobile_phone")},
	}, {
		name:  "duplicate names the first line",
		input: header + "1001,13900001234\n\n1001,13900005678\n1001,13900001234\n",
		want: []Row{
			ok(2, "1001", "13900001234"),
			rejected(4, "1001", "13900005678", "duplicate account_id: first seen on line 2"),
			rejected(5, "1001", "13900001234", "duplicate account_id: first seen on line 2"),
		},
	}, {
		name:  "duplicate of a long account ID",
		input: header + strings.Repeat("1", 25) + ",13900001234\n" + strings.Repeat("1", 25) + ",13900001234\n",
		want: []Row{
			ok(2, strings.Repeat("1", 25), "13900001234"),
			rejected(3, strings.Repeat("1", 25), "13900001234", "duplicate account_id: first seen on line 2"),
		},
	}, {
		name:  "a rejected row does not claim its account ID",
		input: header + "1001,139\n1001,13900001234\n1001,13900001234\n",
		want: []Row{
			rejected(2, "1001", "139", notMobile),
			ok(3, "1001", "13900001234"),
			rejected(4, "1001", "13900001234", "duplicate account_id: first seen on line 3"),
		},
	}, {
		name:  "fewer fields than the header",
		input: "account_id,mobile_phone,name\n1001,13900001234\n1002\n",
		want: []Row{
			rejected(2, "1001", "13900001234", "row has 2 fields; the header has 3"),
			rejected(3, "1002", "", "row has 1 field; the header has 3"),
		},
	}, {
		name:  "more fields than the header",
		input: header + "1001,139,0000,1234\n",
		want:  []Row{rejected(2, "1001", "139", "row has 4 fields; the header has 2")},
	}, {
		name:  "bare quote, then reading goes on",
		input: header + "1001,139\"0000\n1002,13900001234\n",
		want: []Row{
			rejected(2, "1001", "", `malformed CSV: a " in an unquoted field (quote the field and double the " inside) at column 9`),
			ok(3, "1002", "13900001234"),
		},
	}, {
		name:  "text after a closing quote, then reading goes on",
		input: header + "1001,\"13900001234\"x\n1002,13900001234\n",
		want: []Row{
			rejected(2, "1001", "", `malformed CSV: a quoted field is not closed properly (a " inside must be doubled) at column 18`),
			ok(3, "1002", "13900001234"),
		},
	}, {
		name:  "bad quote in a record over several lines",
		input: "account_id,mobile_phone,note\n1001,13900001234,\"a\nb\"c\n1002,13900001234,\n",
		want: []Row{
			rejected(2, "1001", "13900001234", `malformed CSV: a quoted field is not closed properly (a " inside must be doubled) at line 3, column 2`),
			ok(4, "1002", "13900001234"),
		},
	}, {
		name:  "a field over several lines points at the quotes",
		input: header + "1001,\"139\n1002,13900001234\n1003\",\n1004,13900001234\n",
		want: []Row{
			rejected(2, "1001", "139\n1002,13900001234\n1003", notMobile+" (the record spans lines 2–4: check its quotes)"),
			ok(5, "1004", "13900001234"),
		},
	}})
}

func TestNewReaderRefusesHeader(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, input string
		want        error
		says        []string // parts of the message
		hides       string   // never in the message
	}{
		{name: "empty file", input: "", want: ErrNoHeader},
		{name: "byte-order mark only", input: "\ufeff", want: ErrNoHeader},
		{name: "blank lines only", input: "\n\r\n  \n,,\n", want: ErrNoHeader},
		{
			name:  "no mobile_phone",
			input: "account_id,name\n1001,Alice\n",
			want:  ErrMissingColumn,
			says:  []string{"mobile_phone (or SecureMobilePhone, phone)", `line 1; found: "account_id", "name"`},
		},
		{
			name:  "no account_id, after blank lines",
			input: "\n\nmobile_phone\n",
			want:  ErrMissingColumn,
			says:  []string{"missing column account_id (or AccountId) in the header on line 3"},
		},
		{
			name:  "neither",
			input: "name,email\n",
			want:  ErrMissingColumn,
			says:  []string{"account_id (or AccountId) and mobile_phone (or SecureMobilePhone, phone)"},
		},
		{
			name:  "separated by semicolons",
			input: "account_id;mobile_phone\n",
			want:  ErrMissingColumn,
			says:  []string{`separated by ";"`},
		},
		{
			name:  "no header at all",
			input: "1001,13900001234\n",
			want:  ErrMissingColumn,
			says:  []string{`found: "1001", "*******1234"`, "looks like a data row"},
			hides: "13900001234",
		},
		{
			name:  "alias and name",
			input: "account_id,mobile_phone,AccountId\n",
			want:  ErrAmbiguousColumn,
			says:  []string{`"account_id" (column 1) and "AccountId" (column 3) on line 1 both name account_id`},
		},
		{
			name:  "two aliases",
			input: "phone,account_id,SecureMobilePhone\n",
			want:  ErrAmbiguousColumn,
			says:  []string{`"phone" (column 1) and "SecureMobilePhone" (column 3)`, "mobile_phone"},
		},
		{
			name:  "one name twice",
			input: "account_id,mobile_phone,Mobile_Phone\n",
			want:  ErrAmbiguousColumn,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := NewReader(strings.NewReader(tc.input))
			if !errors.Is(err, tc.want) {
				t.Fatalf("NewReader: %v; want %v", err, tc.want)
			}
			for _, s := range tc.says {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not say %q", err, s)
				}
			}
			if tc.hides != "" && strings.Contains(err.Error(), tc.hides) {
				t.Errorf("error %q shows %q", err, tc.hides)
			}
		})
	}
}

func TestNewReaderMalformedHeader(t *testing.T) {
	t.Parallel()
	_, err := NewReader(strings.NewReader("account_id,\"mobile\"_phone\n"))
	if err == nil || !strings.Contains(err.Error(), "header (line 1): malformed CSV") {
		t.Fatalf("NewReader: %v; want a malformed header", err)
	}
}

func TestReaderStops(t *testing.T) {
	t.Parallel()
	boom := errors.New("disk on fire")
	for _, tc := range []struct {
		name  string
		input io.Reader
		rows  int // read before the error
		want  error
		says  string
	}{{
		name:  "quote open to the end of the file",
		input: strings.NewReader(header + "1001,13900001234\n1002,\"139\n1003,13900001234\n1004,13900001234\n"),
		rows:  1,
		want:  ErrUnclosedQuote,
		says:  "line 3: quoted field not closed before the end of the file (line 5)",
	}, {
		name:  "record too long",
		input: strings.NewReader(header + "1001,13900001234\n1002,\"" + strings.Repeat("x", MaxRecordBytes+10)),
		rows:  1,
		want:  ErrRecordTooLong,
		says:  "line 3: record too long: over 1048576 bytes",
	}, {
		name:  "record too long from its first field",
		input: strings.NewReader(header + "1001,13900001234\n\n\"" + strings.Repeat("x", MaxRecordBytes)),
		rows:  1,
		want:  ErrRecordTooLong,
		says:  "record after line 2: record too long",
	}, {
		name:  "line too long",
		input: strings.NewReader(header + "1001,13900001234\n" + strings.Repeat("1", MaxRecordBytes+10) + "\n1002,13900001234\n"),
		rows:  1,
		want:  ErrRecordTooLong,
	}, {
		name:  "read error",
		input: io.MultiReader(strings.NewReader(header+"1001,13900001234\n"), iotest.ErrReader(boom)),
		rows:  1,
		want:  boom,
		says:  "read after line 2: disk on fire",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, err := NewReader(tc.input)
			if err != nil {
				t.Fatal(err)
			}
			rows := 0
			for ; ; rows++ {
				if _, err = r.Next(); err != nil {
					break
				}
			}
			if !errors.Is(err, tc.want) || rows != tc.rows {
				t.Fatalf("after %d rows: %v; want %v after %d", rows, err, tc.want, tc.rows)
			}
			if !strings.Contains(err.Error(), tc.says) {
				t.Errorf("error %q does not say %q", err, tc.says)
			}
			if _, again := r.Next(); again != err {
				t.Errorf("next Next: %v; want %v again", again, err)
			}
		})
	}
}

func TestReaderOffset(t *testing.T) {
	t.Parallel()
	for _, input := range []string{
		header,
		"\ufeff" + header + "1001,13900001234\r\n\r\n1002,1390000\r\n",
		header + "1001,13900001234",
		header + "1001,\"1390\n0001234\"\n\n\n",
	} {
		r, err := NewReader(strings.NewReader(input))
		if err != nil {
			t.Fatal(err)
		}
		last := r.Offset()
		for {
			_, err := r.Next()
			if r.Offset() < last {
				t.Errorf("%q: Offset went back from %d to %d", input, last, r.Offset())
			}
			last = r.Offset()
			if err != nil {
				break
			}
		}
		if last != int64(len(input)) {
			t.Errorf("%q: Offset at the end = %d; want %d", input, last, len(input))
		}
	}
}

// The reader accepts exactly the account IDs the tasks accept; it does not
// import tasks (roster sits upstream), so this test holds them together.
func TestAccountIDAgreesWithTasks(t *testing.T) {
	t.Parallel()
	for _, id := range []string{
		"", "0", "1001", "1386606283481234", strings.Repeat("9", 32), strings.Repeat("9", 33),
		"12ab", " 1", "1.0", "-1", "+1", "１",
	} {
		if got, want := validAccountID(id), tasks.ValidAccountID(id); got != want {
			t.Errorf("validAccountID(%q) = %v; tasks.ValidAccountID = %v", id, got, want)
		}
		if got, want := accountReason(id) == "", tasks.ValidAccountID(id); got != want {
			t.Errorf("accountReason(%q) = %q; tasks.ValidAccountID = %v", id, accountReason(id), want)
		}
	}
}

func TestRedact(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"12ab", "12ab"},
		{"123456", "123456"},
		{"1234567", "***4567"},
		{"13900001234x", "*******1234x"},
		{"x+86 139 0000 1234y", "x+** *** **** 1234y"},
		{"a 12345 67 b", "a ***45 67 b"}, // one run: spaces join it
		{"１３９００００１２３４", "*******１２３４"},
		{"\xff1234567", "\uFFFD***4567"},
		{"1386606283481234x", "1386606283481234x"},             // an account ID: too long for a phone
		{"13900001234 13900005678", "*********** *******5678"}, // two blocks
	} {
		if got := redact(tc.in); got != tc.want {
			t.Errorf("redact(%q) = %q; want %q", tc.in, got, tc.want)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{strings.Repeat("é", 50), `"` + strings.Repeat("é", 39) + `…"`},
		{"a\"b\\c\nd\te\x00f\xffg", `"a\"b\\c\nd\te` + "\uFFFD" + "f\uFFFD" + `g"`},
		{"0000\x9500000", "\"0000\uFFFD00000\""}, // no digits of an escape join the run
	} {
		if got := quote(tc.in); got != tc.want {
			t.Errorf("quote(%q) = %s; want %s", tc.in, got, tc.want)
		}
	}
}
