package roster

import (
	"strings"
	"testing"

	"github.com/rdonboard/rdonboard/internal/phone"
)

// readSite reads every row of input under site's phone rule.
func readSite(t *testing.T, site phone.Site, input string) []Row {
	t.Helper()
	r, err := NewReaderWith(strings.NewReader(input), Options{Site: site})
	if err != nil {
		t.Fatalf("NewReaderWith: %v", err)
	}
	rows, err := readRows(r)
	if err != nil {
		t.Fatalf("Next: %v", err)
	}
	return rows
}

func TestInternationalSiteRoster(t *testing.T) {
	t.Parallel()
	input := header +
		"1001,+65 8123 4567\n" +
		"1002,65-81234567\n" +
		"1003,+1 415 555 0100\n" +
		"1004,+86 139 0000 1234\n" +
		"1005,13900001234\n" +
		"1006,+65 6123 4567\n"
	got := readSite(t, phone.International, input)
	want := []Row{
		{Line: 2, AccountID: "1001", Phone: "65-81234567", RawPhone: "+65 8123 4567"},
		{Line: 3, AccountID: "1002", Phone: "65-81234567", RawPhone: "65-81234567"},
		{Line: 4, AccountID: "1003", Phone: "1-4155550100", RawPhone: "+1 415 555 0100"},
		{Line: 5, AccountID: "1004", RawPhone: "+86 139 0000 1234", Reject: "mobile_phone: " + phone.ErrMainland.Error()},
		{Line: 6, AccountID: "1005", RawPhone: "13900001234", Reject: "mobile_phone: " + phone.ErrNoCountryCode.Error()},
		{Line: 7, AccountID: "1006", RawPhone: "+65 6123 4567", Reject: "mobile_phone: " + phone.ErrNotMobile.Error()},
	}
	assertRows(t, got, want)
}

func TestChinaSiteRosterIsTheDefault(t *testing.T) {
	t.Parallel()
	input := header + "1001,+65 8123 4567\n1002,+86 139 0000 1234\n"
	got := readSite(t, phone.China, input)
	want := []Row{rejected(2, "1001", "+65 8123 4567", foreign), ok(3, "1002", "+86 139 0000 1234")}
	assertRows(t, got, want)
	def, _ := readAll(t, input)
	assertRows(t, def, want)
}
