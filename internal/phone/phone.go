// Package phone owns the one phone-number format the project stores and
// sends (86-1xxxxxxxxxx) and the masked form in which a number leaves the
// process.
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

// Normalize turns the accepted spellings of a mainland mobile number
// (86-13900001234, +86 139 0000 1234, +8613900001234, 13900001234) into
// 86-13900001234. Single spaces or dashes between digit groups are ignored;
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
	// out holds the result: "86-" then the 11 digits, built in place so a
	// valid number costs one allocation.
	var out [len(prefix) + maxDigits]byte
	copy(out[:], prefix)
	d, ok := digitsOf(body, out[len(prefix):len(prefix)])
	if !ok {
		return "", ErrInvalid
	}
	cc := len(d) >= 2 && d[0] == '8' && d[1] == '6'
	switch {
	case len(d) == 13 && cc && d[2] == '1':
		copy(out[len(prefix):], d[2:])
		return string(out[:len(prefix)+11]), nil
	case plus && !cc:
		return "", ErrCountryCode
	case !plus && hasCountryGroup(body):
		return "", ErrCountryCode
	case !plus && len(d) == 11 && d[0] == '1':
		return string(out[:len(prefix)+11]), nil
	default:
		return "", ErrInvalid
	}
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
// 86-139****1234. Anything else is masked whole except its last 4
// characters, and anything of 4 characters or fewer is masked whole.
func Mask(p string) string {
	if len(p) == len(prefix)+11 && strings.HasPrefix(p, prefix) {
		return p[:6] + "****" + p[10:]
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
