package phone

import (
	"errors"
	"testing"
)

func TestNormalizeAccepts(t *testing.T) {
	t.Parallel()
	for _, raw := range []string{
		"86-13900001234",
		"+86 139 0000 1234",
		"+8613900001234",
		"13900001234",
		"  13900001234\t",
		" +86 139 0000 1234 ",
		"+86-139-0000-1234",
		"86 139 0000 1234",
		"8613900001234",
		"139 0000 1234",
		"139-0000-1234",
		"+86 13900001234",
	} {
		got, err := Normalize(raw)
		if err != nil || got != "86-13900001234" {
			t.Errorf("Normalize(%q) = %q, %v; want 86-13900001234", raw, got, err)
		}
	}
}

func TestNormalizeRejects(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		raw  string
		want error
	}{
		{"", ErrEmpty},
		{"   ", ErrEmpty},
		{"+1 555 123 4567", ErrCountryCode},
		{"+15551234567", ErrCountryCode},
		{"+13900001234", ErrCountryCode},   // +1 is North America, not a stray plus
		{"1-555-123-4567", ErrCountryCode}, // the 1 of North America, without a plus
		{"1 5551234567", ErrCountryCode},
		{"+852 9123 4567", ErrCountryCode},
		{"852 9123 4567", ErrCountryCode}, // a country code without a plus
		{"+44 20 7946 0958", ErrCountryCode},
		{"1390000123", ErrInvalid},   // 10 digits
		{"139000012345", ErrInvalid}, // 12 digits
		{"139 0000 123", ErrInvalid}, // a typo, not a country code
		{"23900001234", ErrInvalid},  // not starting with 1
		{"86-23900001234", ErrInvalid},
		{"+86 1390000123", ErrInvalid},
		{"+86", ErrInvalid},
		{"86-", ErrInvalid},            // separator at the end
		{"-13900001234", ErrInvalid},   // separator at the start
		{"139--0000-1234", ErrInvalid}, // two separators in a row
		{"+ 86 139 0000 1234", ErrInvalid},
		{"++8613900001234", ErrInvalid},
		{"(139) 0000 1234", ErrInvalid},
		{"139.0000.1234", ErrInvalid},
		{"１３９００００１２３４", ErrInvalid}, // full-width digits
		{"0086 139 0000 1234", ErrInvalid},
		{"010 1234 5678", ErrInvalid},    // a Beijing landline
		{"1234567890123456", ErrInvalid}, // too long for any phone
		{"abc", ErrInvalid},
		{"13900001234x", ErrInvalid},
	} {
		got, err := Normalize(tc.raw)
		if !errors.Is(err, tc.want) || got != "" {
			t.Errorf("Normalize(%q) = %q, %v; want error %v", tc.raw, got, err, tc.want)
		}
	}
}

func TestNormalizeAllocates(t *testing.T) {
	// The roster normalizes every row of files of a million rows.
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := Normalize("+86 139 0000 1234"); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 1 {
		t.Errorf("Normalize allocates %v times; want at most 1", allocs)
	}
}

func TestMask(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"86-13900001234", "86-139****1234"},
		{"+1 555 123 4567", "***********4567"},
		{"1234", "****"},
		{"", "****"},
		{"12345", "*2345"},
		{"１３９００００１２３４", "*******１２３４"}, // cut between runes, not bytes
		// International numbers keep their country code.
		{"65-81234567", "65-****4567"},
		{"1-4155550100", "1-******0100"},
		{"852-91234567", "852-****4567"},
	} {
		if got := Mask(tc.in); got != tc.want {
			t.Errorf("Mask(%q) = %q; want %q", tc.in, got, tc.want)
		}
	}
}
