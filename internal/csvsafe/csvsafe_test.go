package csvsafe_test

import (
	"encoding/csv"
	"strings"
	"testing"

	"github.com/rdonboard/rdonboard/internal/csvsafe"
)

// A cell a spreadsheet would run as a formula (=, +, -, @, a tab or a
// carriage return first) is written with a leading ', even when a digit
// follows the sign (the DDE payload -2+3+cmd|…); other cells, masked phones
// and account IDs among them, are written as they are.
func TestCellsCannotBeFormulas(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"-2+3+cmd|' /C calc'!A0":   "'-2+3+cmd|' /C calc'!A0",
		"=HYPERLINK(\"http://x\")": "'=HYPERLINK(\"http://x\")",
		"+86 139 0000 1234":        "'+86 139 0000 1234",
		"@SUM(A1)":                 "'@SUM(A1)",
		"\t=1":                     "'\t=1",
		"\r=1":                     "'\r=1",
		"-":                        "'-",
		"86-139****1234":           "86-139****1234",
		"1386606283481234":         "1386606283481234",
		"roster":                   "roster",
		"":                         "",
		"a=b":                      "a=b",
	} {
		if got := csvsafe.Cell(in); got != want {
			t.Errorf("Cell(%q) = %q, want %q", in, got, want)
		}
	}
}

// The Writer neutralises every cell of every record and the records read
// back as CSV.
func TestWriterNeutralisesEveryCell(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	w := csvsafe.NewWriter(&b)
	if err := w.Write([]string{"=1+1", "ok", "@x"}); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	if err := w.Error(); err != nil {
		t.Fatal(err)
	}
	rec, err := csv.NewReader(strings.NewReader(b.String())).Read()
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"'=1+1", "ok", "'@x"}; strings.Join(rec, "|") != strings.Join(want, "|") {
		t.Errorf("read back %q, want %q", rec, want)
	}
}
