package status_test

import (
	"encoding/csv"
	"strings"
	"testing"

	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/internal/status"
)

// `worker status --format csv` opened in a spreadsheet must not run a
// formula that a batch name or a cloud error message smuggled in.
func TestMemberCSVCellsCannotBeFormulas(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	mw, err := status.NewMemberWriter(&b, status.CSV)
	if err != nil {
		t.Fatal(err)
	}
	v := member.View{AccountID: "1386606283481234", MobilePhone: "86-139****1234", Batch: "@SUM(A1)",
		State: member.Failed, LastErrorCode: "-2+3+cmd|' /C calc'!A0", LastErrorMessage: "=HYPERLINK(\"http://x\")"}
	if err := mw.Write(v); err != nil {
		t.Fatal(err)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(strings.NewReader(b.String())).ReadAll()
	if err != nil || len(recs) != 2 {
		t.Fatalf("read back %d records (%v), want header and one row", len(recs), err)
	}
	row := recs[1]
	for i, want := range map[int]string{0: "1386606283481234", 1: "86-139****1234", 2: "'@SUM(A1)",
		7: "'-2+3+cmd|' /C calc'!A0", 8: "'=HYPERLINK(\"http://x\")"} {
		if row[i] != want {
			t.Errorf("column %s = %q, want %q", recs[0][i], row[i], want)
		}
	}
}
