package phone

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// Site is the Alibaba Cloud site an organisation is on, which decides the
// numbers its API takes (README, "The roster CSV").
type Site string

// The sites, spelled as ONBOARD_SITE spells them.
const (
	// China (aliyun.com) takes mainland mobile numbers only.
	China Site = "china"
	// International (alibabacloud.com) takes mobile numbers of every
	// country but mainland China, each with its country code.
	International Site = "international"
)

// Errors of the international site's rule.
var (
	// ErrMainland reports a mainland China number on the international
	// site, which refuses them.
	ErrMainland = errors.New("the international site (ONBOARD_SITE=international) does not accept mainland China numbers (+86)")
	// ErrNoCountryCode reports a number written without its country code.
	ErrNoCountryCode = errors.New("the international site (ONBOARD_SITE=international) needs the country code, as in +65 8123 4567 or 65-81234567")
	// ErrNotMobile reports a number that is not a mobile number of its
	// country.
	ErrNotMobile = errors.New("not a mobile number of its country, which the international site (ONBOARD_SITE=international) needs")
)

// ParseSite reads ONBOARD_SITE's value; "" is China.
func ParseSite(s string) (Site, error) {
	switch Site(s) {
	case "", China:
		return China, nil
	case International:
		return International, nil
	}
	return "", fmt.Errorf("site %q: want %s or %s", s, China, International)
}

// Normalize turns raw into the stored form under the site's rule, or says
// why the site refuses it: ErrEmpty, or ErrCountryCode and ErrInvalid on
// China (see Normalize), ErrMainland, ErrNoCountryCode and ErrNotMobile
// on International (see normalizeInternational). An unknown site is China.
func (s Site) Normalize(raw string) (string, error) {
	if s == International {
		return normalizeInternational(raw)
	}
	return Normalize(raw)
}

// normalizeInternational turns a mobile number of any country but China,
// written with its country code (+65 8123 4567, +6581234567, 65-81234567,
// 1 415 555 0100), into <country code>-<national number> (65-81234567).
// The digit groups follow Normalize's spelling rules; without a plus, the
// first group must be the country code. The phonenumbers library decides
// whether the number is a valid mobile number (MOBILE or
// FIXED_LINE_OR_MOBILE) of its country.
func normalizeInternational(raw string) (string, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", ErrEmpty
	}
	body, plus := strings.CutPrefix(s, "+")
	d, ok := digitsOf(body, make([]byte, 0, maxDigits))
	if !ok {
		return "", ErrInvalid
	}
	num, err := phonenumbers.Parse("+"+string(d), "")
	cc := int(num.GetCountryCode())
	switch {
	case err != nil || (!plus && firstGroup(body) != strconv.Itoa(cc)):
		return "", ErrNoCountryCode
	case cc == 86:
		return "", ErrMainland
	case !phonenumbers.IsValidNumber(num) || !isMobileType(phonenumbers.GetNumberType(num)):
		return "", ErrNotMobile
	}
	return strconv.Itoa(cc) + "-" + phonenumbers.GetNationalSignificantNumber(num), nil
}

// firstGroup returns the digits before the first space or dash of s, or
// "" when s has none.
func firstGroup(s string) string {
	if i := strings.IndexAny(s, " -"); i > 0 {
		return s[:i]
	}
	return ""
}

// isMobileType reports whether the library's type is one an SMS reaches.
func isMobileType(t phonenumbers.PhoneNumberType) bool {
	return t == phonenumbers.MOBILE || t == phonenumbers.FIXED_LINE_OR_MOBILE
}
