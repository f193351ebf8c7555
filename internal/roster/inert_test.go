package roster

import (
	"strings"
	"testing"
)

// A rejects file opened in a spreadsheet must not run a formula that an
// account ID cell smuggled in.
func TestRejectsCellsCannotBeFormulas(t *testing.T) {
	t.Parallel()
	var rejects []Reject
	for _, id := range []string{"=HYPERLINK(\"http://x\")", "@SUM(A1)", "-A1", "+86 139 0000 1234", "-2+3+cmd|' /C calc'!A0"} {
		rejects = append(rejects, Reject{2, id, "+86 139 0000 1234", "bad"})
	}
	file := rejectsFile(t, true, rejects...)
	want := []string{`2,"'=HYPERLINK(""http://x"")",'+86 139 0000 1234,bad`, `2,'@SUM(A1),'+86 139 0000 1234,bad`,
		`2,'-A1,'+86 139 0000 1234,bad`, `2,'+86 139 0000 1234,'+86 139 0000 1234,bad`,
		`2,'-2+3+cmd|' /C calc'!A0,'+86 139 0000 1234,bad`}
	lines := strings.Split(strings.TrimSpace(file), "\n")[1:]
	if len(lines) != len(want) {
		t.Fatalf("%d rows, want %d", len(lines), len(want))
	}
	for i, l := range lines {
		if l != want[i] {
			t.Errorf("row %d = %s, want %s", i, l, want[i])
		}
	}
}
