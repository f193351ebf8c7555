package phone

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/nyaruka/phonenumbers"
)

func TestInternationalAccepts(t *testing.T) {
	t.Parallel()
	// One number of each country, in the ways it is written.
	for _, tc := range []struct {
		country, want string
		raws          []string
	}{
		{"Singapore", "65-81234567", []string{"+65 8123 4567", "65-81234567", "+6581234567", " 65 8123 4567 "}},
		{"United States", "1-4155550100", []string{"+1 415 555 0100", "1-415-555-0100"}},
		{"United Kingdom", "44-7911123456", []string{"+44 7911 123456", "44-7911123456"}},
		{"Hong Kong", "852-91234567", []string{"+852 9123 4567"}},
		{"Taiwan", "886-912345678", []string{"+886 912 345 678"}},
		{"Macao", "853-66123456", []string{"+853 6612 3456"}},
		{"Japan", "81-9012345678", []string{"+81 90-1234-5678"}},
	} {
		for _, raw := range tc.raws {
			got, err := International.Normalize(raw)
			if err != nil || got != tc.want {
				t.Errorf("%s: International.Normalize(%q) = %q, %v; want %q", tc.country, raw, got, err, tc.want)
			}
		}
	}
}

func TestInternationalRefuses(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		why, raw string
		want     error
	}{
		{"mainland with a plus", "+86 139 0000 1234", ErrMainland},
		{"mainland as stored on the China site", "86-13900001234", ErrMainland},
		{"mainland run together", "+8613900001234", ErrMainland},
		{"mainland without its country code", "13900001234", ErrNoCountryCode},
		{"Singapore without its country code", "8123 4567", ErrNoCountryCode},
		{"digits run together without a plus", "6581234567", ErrNoCountryCode},
		{"first group is not the country code", "658 1234 567", ErrNoCountryCode},
		{"no such country code", "+999 1234 5678", ErrNoCountryCode},
		{"a Singapore landline", "+65 6123 4567", ErrNotMobile},
		{"a London landline", "+44 20 7946 0958", ErrNotMobile},
		{"a Hong Kong landline", "+852 2123 4567", ErrNotMobile},
		{"one digit short", "+65 8123 456", ErrNotMobile},
		{"letters", "+1 800 FLOWERS", ErrInvalid},
		{"parentheses", "+1 (415) 555 0100", ErrInvalid},
		{"empty", " ", ErrEmpty},
	} {
		got, err := International.Normalize(tc.raw)
		if !errors.Is(err, tc.want) || got != "" {
			t.Errorf("%s: International.Normalize(%q) = %q, %v; want error %v", tc.why, tc.raw, got, err, tc.want)
		}
	}
}

func TestChinaSiteIsNormalize(t *testing.T) {
	t.Parallel()
	for _, raw := range []string{"+86 139 0000 1234", "13900001234", "+65 8123 4567", "1390000123", ""} {
		want, wantErr := Normalize(raw)
		got, err := China.Normalize(raw)
		if got != want || !errors.Is(err, wantErr) {
			t.Errorf("China.Normalize(%q) = %q, %v; Normalize gives %q, %v", raw, got, err, want, wantErr)
		}
	}
}

func TestReasonsNameTheSite(t *testing.T) {
	t.Parallel()
	for _, err := range []error{ErrMainland, ErrNoCountryCode, ErrNotMobile} {
		if !strings.Contains(err.Error(), "international site") {
			t.Errorf("%q does not say which site refuses the number", err)
		}
	}
	if !strings.Contains(ErrCountryCode.Error(), "mainland China") {
		t.Errorf("%q does not say what the China site takes", ErrCountryCode)
	}
}

func TestParseSite(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]Site{"": China, "china": China, "international": International} {
		if got, err := ParseSite(in); err != nil || got != want {
			t.Errorf("ParseSite(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseSite("intl"); err == nil {
		t.Error("ParseSite accepted intl")
	}
}

// The compiled mainland rule answers as the library's own GetNumberType
// does, over every three-digit prefix of the mainland's numbers.
func TestMainlandAgreesWithTheLibrary(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	for p := range 1000 {
		for range 20 {
			national := fmt.Sprintf("%03d%08d", p, rng.IntN(100_000_000))
			num, err := phonenumbers.Parse("+86"+national, "")
			if err != nil {
				t.Fatal(err)
			}
			want := isMobileType(phonenumbers.GetNumberType(num))
			if got := mainland.isMobile(national); got != want {
				t.Fatalf("mainland.isMobile(%s) = %v; the library says %v", national, got, want)
			}
		}
	}
}
