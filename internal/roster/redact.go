package roster

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// shownRunes is how much of a field an error message or a reason quotes.
const shownRunes = 40

// quote shows a value from the file in a message: cut to shownRunes,
// made printable, phone-like digit runs masked, in double quotes.
func quote(s string) string {
	return `"` + redact(printable(truncate(s, shownRunes))) + `"`
}

// printable spells s on one line: line breaks, tabs, quotes and
// backslashes escaped, anything else unprintable (invalid UTF-8 too)
// shown as U+FFFD. Unlike strconv.Quote it writes no digits of its own
// (\x95), which would join the digits around them into a run.
func printable(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			if !unicode.IsGraphic(r) {
				r = utf8.RuneError
			}
			b.WriteRune(r)
		}
	}
	return b.String()
}

// redact masks every digit run that could be a phone number, whatever the
// field it is found in (columns get swapped): a run of digits (of any
// script), white space, dashes and plus signs that looks like a phone
// keeps only its last 4 digits. 13900001234x becomes *******1234x.
func redact(s string) string {
	rs := []rune(s)
	masked := false
	for i := 0; i < len(rs); {
		if !isPhoneRune(rs[i]) {
			i++
			continue
		}
		j := i
		for j < len(rs) && isPhoneRune(rs[j]) {
			j++
		}
		if looksLikePhone(rs[i:j]) {
			maskDigits(rs[i:j])
			masked = true
		}
		i = j
	}
	if !masked {
		return s
	}
	return string(rs)
}

// looksLikePhone reports whether run, a run of phone runes, could hold a
// phone number: 7 digits or more, unless they are one block of more than
// 15 digits, longer than any phone number (E.164) and as long as an
// account ID (16 digits), which a reason had better show.
func looksLikePhone(run []rune) bool {
	const minDigits, maxDigits = 7, 15
	digits, blocks := 0, 0
	for k, r := range run {
		if unicode.IsDigit(r) {
			digits++
			if k == 0 || !unicode.IsDigit(run[k-1]) {
				blocks++
			}
		}
	}
	return digits >= minDigits && (digits <= maxDigits || blocks > 1)
}

// maskDigits replaces the digits of run by *, but the last 4.
func maskDigits(run []rune) {
	const keep = 4
	kept := 0
	for k := len(run) - 1; k >= 0; k-- {
		if !unicode.IsDigit(run[k]) {
			continue
		}
		if kept < keep {
			kept++
		} else {
			run[k] = '*'
		}
	}
}

// isPhoneRune reports whether r may be part of a written phone number.
func isPhoneRune(r rune) bool {
	return unicode.IsDigit(r) || unicode.IsSpace(r) || strings.ContainsRune("+-＋－", r)
}

// truncate cuts s to n runes, marking the cut with an ellipsis.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i := 0
	for range n - 1 {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return s[:i] + "…"
}
