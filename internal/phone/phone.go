// Package phone owns the phone-number format the project stores and sends
// (<country code>-<national number>: 86-13900001234 on the China site,
// 65-81234567 on the international site), which numbers each site accepts
// (mobile numbers, as github.com/nyaruka/phonenumbers types them), and the
// masked form in which a number leaves the process.
package phone

import (
	"errors"
	"strings"
	"unicode/utf8"
)

// ErrCountryCode reports a number with a country code other than 86: the
// API accepts only mainland numbers on the China site.
var ErrCountryCode = errors.New("only mainland China numbers (+86) are accepted")

// ErrInvalid reports a number that is not an 11-digit mainland mobile number.
var ErrInvalid = errors.New("not a mainland mobile number (11 digits starting with 1)")

// ErrEmpty reports an empty value.
var ErrEmpty = errors.New("empty")

// maxDigits is the longest number E.164 allows; anything longer is not a
// phone number of any country.
const maxDigits = 15

// prefix opens every normalized number.
const prefix = "86-"

// Normalize applies the China site's rule (China.Normalize): it turns the
// accepted spellings of a mainland mobile number (86-13900001234,
// +86 139 0000 1234, +8613900001234, 13900001234) into 86-13900001234.
// Whether the digits are a mobile number is the phonenumbers library's
// call. Single spaces or dashes between digit groups are ignored;
// surrounding white space is trimmed.
//
// A number with another country code is ErrCountryCode: one written with a
// plus (+1 555 123 4567, +852 9123 4567), or one whose first digit group is
// spelled like a country code (1-555-123-4567, 852 9123 4567). Anything
// else that is not a mainland mobile number is ErrInvalid.
func Normalize(raw string) (string, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", ErrEmpty
	}
	body, plus := strings.CutPrefix(s, "+")
	// The digits stay on the stack: a valid number costs one allocation.
	var buf [maxDigits]byte
	d, ok := digitsOf(body, buf[:0])
	if !ok {
		return "", ErrInvalid
	}
	cc := len(d) >= 2 && d[0] == '8' && d[1] == '6'
	if cc {
		if n, err := bare(d[2:]); err == nil {
			return n, nil
		}
	}
	switch {
	case plus && !cc:
		return "", ErrCountryCode
	case !plus && hasCountryGroup(body):
		return "", ErrCountryCode
	case !plus:
		return bare(d)
	default:
		return "", ErrInvalid
	}
}

// bare checks the digits of a mainland number after its country code. The
// number is built as stored before it is checked: matching a string costs
// no allocation where matching the bytes would.
func bare(d []byte) (string, error) {
	if n := prefix + string(d); mainland.isMobile(n[len(prefix):]) {
		return n, nil
	}
	return "", ErrInvalid
}

// digitsOf appends the digits of s to dst. s may separate digit groups
// with single spaces or dashes; ok is false for any other character, a
// separator at either end, two separators in a row, or more than
// maxDigits digits.
func digitsOf(s string, dst []byte) (d []byte, ok bool) {
	sep := true // a separator may not open the number
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			if len(dst) == maxDigits {
				return nil, false
			}
			dst = append(dst, c)
			sep = false
		case (c == ' ' || c == '-') && !sep:
			sep = true
		default:
			return nil, false
		}
	}
	return dst, !sep
}

// hasCountryGroup reports whether s opens with a separate group of digits
// written the way a country code is (1-555-123-4567, 852 9123 4567): one
// to three digits, not 86, not opening with 0 (a trunk prefix, as in 010),
// and, when it opens with 1, exactly "1" (every country code starting with
// 1 is the North American 1, while 139 opens a mainland number).
func hasCountryGroup(s string) bool {
	i := strings.IndexAny(s, " -")
	if i < 1 || i > 3 {
		return false
	}
	g := s[:i]
	switch {
	case g == "86", g[0] == '0':
		return false
	case g[0] == '1':
		return g == "1"
	default:
		return true
	}
}

// Mask hides the middle of a normalized number: 86-13900001234 becomes
// 86-139****1234, and a number of another country keeps its country code
// and last 4 digits (65-81234567 becomes 65-****4567). Anything else is
// masked whole except its last 4 characters, and anything of 4 characters
// or fewer is masked whole.
func Mask(p string) string {
	if len(p) == len(prefix)+11 && strings.HasPrefix(p, prefix) {
		return p[:6] + "****" + p[10:]
	}
	if cc, national, ok := strings.Cut(p, "-"); ok && len(cc) <= 3 && allDigits(cc) && len(national) > 4 && allDigits(national) {
		return cc + "-" + strings.Repeat("*", len(national)-4) + national[len(national)-4:]
	}
	n := utf8.RuneCountInString(p)
	if n <= 4 {
		return "****"
	}
	// Cut at a rune boundary so the result stays valid UTF-8.
	cut := len(p)
	for range 4 {
		_, size := utf8.DecodeLastRuneInString(p[:cut])
		cut -= size
	}
	return strings.Repeat("*", n-4) + p[cut:]
}

// allDigits reports whether s is a non-empty run of ASCII digits.
func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
