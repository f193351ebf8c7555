package roster

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

func TestGenerate(t *testing.T) {
	t.Parallel()
	const n, badEvery = 1000, 7
	var b strings.Builder
	if err := Generate(&b, n, badEvery); err != nil {
		t.Fatal(err)
	}
	rows, err := readAll(t, b.String())
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != n {
		t.Fatalf("read %d rows; want %d", len(rows), n)
	}
	reasons := map[string]int{}
	for i, row := range rows {
		if row.Line != i+2 {
			t.Fatalf("row %d on line %d; want %d", i, row.Line, i+2)
		}
		bad := i%badEvery == badEvery-1
		if (row.Reject != "") != bad {
			t.Fatalf("row %d: %#v; want rejected: %v", i, row, bad)
		}
		kind, _, _ := strings.Cut(row.Reject, " \"")
		kind, _, _ = strings.Cut(kind, ":")
		reasons[kind]++
	}
	// 142 bad rows in turn: 36 short phones, 36 foreign, 35 letters, 35 repeats.
	want := map[string]int{"": n - 142, "mobile_phone": 36 + 36, "account_id": 35, "duplicate account_id": 35}
	if fmt.Sprint(reasons) != fmt.Sprint(want) {
		t.Errorf("reasons = %v; want %v", reasons, want)
	}
}

func TestGenerateEdges(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ n, badEvery, rejected int }{
		{0, 0, 0},
		{10, 0, 0},
		{8, 1, 8}, // no valid row to repeat: a bad phone instead
		{10, 3, 3},
	} {
		var b strings.Builder
		if err := Generate(&b, tc.n, tc.badEvery); err != nil {
			t.Fatal(err)
		}
		rows, err := readAll(t, b.String())
		if err != nil {
			t.Fatal(err)
		}
		rejected := 0
		for _, r := range rows {
			if r.Reject != "" {
				rejected++
			}
		}
		if len(rows) != tc.n || rejected != tc.rejected {
			t.Errorf("Generate(%d, %d): %d rows, %d rejected; want %d, %d",
				tc.n, tc.badEvery, len(rows), rejected, tc.n, tc.rejected)
		}
	}
}

func TestGenerateIsDeterministic(t *testing.T) {
	t.Parallel()
	var a, b bytes.Buffer
	if err := Generate(&a, 500, 9); err != nil {
		t.Fatal(err)
	}
	if err := Generate(&b, 500, 9); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("two runs differ")
	}
}
