package roster

import (
	"errors"
	"fmt"
	"math"
	"net/mail"
	"regexp"
	"strings"

	"github.com/rdonboard/rdonboard/internal/phone"
)

// maxAccountIDDigits is the longest account ID accepted; it agrees with
// tasks.ValidAccountID (a test holds them together: roster sits upstream
// of tasks and does not import it).
const maxAccountIDDigits = 32

// scientific matches a number as a spreadsheet shows a long one
// (1.38660628348123E+15): its last digits are lost.
var scientific = regexp.MustCompile(`^\d(\.\d+)?[eE]\+?\d+$`)

// check validates a well-formed record and, when it is valid, claims its
// account ID.
func (r *Reader) check(rec []string) Row {
	line, _ := r.cr.FieldPos(0)
	row := Row{Line: line, AccountID: field(rec, r.acc), RawPhone: field(rec, r.ph),
		DisplayName: optionalField(rec, r.name)}
	if reason := r.shape(rec); reason != "" {
		row.Reject = reason
		return row
	}
	p, err := r.site.Normalize(row.RawPhone)
	email, emailWhy := emailOf(optionalField(rec, r.email))
	if reason := joinReasons(accountReason(row.AccountID), phoneReason(err), emailWhy); reason != "" {
		row.Reject = reason + r.spanHint(row, line)
		return row
	}
	if reason := r.ownerConflict(p, email); reason != "" {
		row.Reject = reason
		return row
	}
	if first, dup := r.seen.claim(row.AccountID, line); dup {
		row.Reject = fmt.Sprintf("duplicate account_id: first seen on line %d", first)
		return row
	}
	r.claimOwner(p, email, line)
	row.Phone, row.Email = p, email
	return row
}

// optionalField returns field i of rec, trimmed, or "" when the column
// is absent (i < 0).
func optionalField(rec []string, i int) string {
	if i < 0 {
		return ""
	}
	return field(rec, i)
}

// emailOf checks an email field: empty, or one plain address, which it
// returns. A display name around the address ("Ann <a@example.com>") is
// dropped; a list of addresses, or a domain without a dot (a host name
// of the local network), is refused.
func emailOf(raw string) (string, string) {
	if raw == "" {
		return "", ""
	}
	addr, err := mail.ParseAddress(raw)
	if err != nil || !strings.Contains(addr.Address[strings.LastIndex(addr.Address, "@")+1:], ".") {
		return "", fmt.Sprintf("email %s is not an email address", quote(raw))
	}
	return addr.Address, ""
}

// owner is the first email a file gave a phone.
type owner struct {
	email string
	line  uint32
}

// ownerConflict refuses a row that gives phone another email than an
// earlier row did: one phone has one owner, who is told about all of its
// members at one address.
func (r *Reader) ownerConflict(phone, email string) string {
	o, ok := r.owners[phone]
	if email == "" || !ok || strings.EqualFold(o.email, email) {
		return ""
	}
	return fmt.Sprintf("email differs from %s given to the same mobile_phone on line %d: one phone has one owner",
		quote(o.email), o.line)
}

// claimOwner records the owner's email of phone, first come.
func (r *Reader) claimOwner(phone, email string, line int) {
	if email == "" {
		return
	}
	if _, ok := r.owners[phone]; ok {
		return
	}
	if r.owners == nil {
		r.owners = make(map[string]owner)
	}
	r.owners[strings.Clone(phone)] = owner{email: strings.Clone(email), line: uint32(min(line, math.MaxUint32))}
}

// shape rejects a record whose fields do not line up with the header:
// fewer fields, or more with something in them (an unquoted comma shifts
// every field after it). Empty trailing fields are padding and pass.
func (r *Reader) shape(rec []string) string {
	if len(rec) < r.width || (len(rec) > r.width && !isBlank(rec[r.width:])) {
		return fmt.Sprintf("row has %s; the header has %d", plural(len(rec), "field"), r.width)
	}
	return ""
}

// spanHint points at the quotes when a required field runs over several
// lines, which is how an unclosed quote shows.
func (r *Reader) spanHint(row Row, line int) string {
	if !strings.Contains(row.AccountID, "\n") && !strings.Contains(row.RawPhone, "\n") {
		return ""
	}
	return fmt.Sprintf(" (the record spans lines %d–%d: check its quotes)", line, r.last)
}

// accountReason says what is wrong with an account ID, or "".
func accountReason(id string) string {
	switch {
	case id == "":
		return "missing account_id"
	case !allDigits(id) && scientific.MatchString(id):
		return fmt.Sprintf("account_id %s is in scientific notation: a spreadsheet changed it; "+
			"format the column as text and export again", quote(id))
	case !allDigits(id):
		return fmt.Sprintf("account_id %s must contain digits only", quote(id))
	case len(id) > maxAccountIDDigits:
		return fmt.Sprintf("account_id has %d digits; at most %d are allowed", len(id), maxAccountIDDigits)
	}
	return ""
}

// phoneReason says what is wrong with a phone number, given the error of
// the site's Normalize, or "".
func phoneReason(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, phone.ErrEmpty):
		return "missing mobile_phone"
	default:
		return "mobile_phone: " + err.Error()
	}
}

// validAccountID reports whether id has the shape of an account ID.
func validAccountID(id string) bool {
	return id != "" && len(id) <= maxAccountIDDigits && allDigits(id)
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// joinReasons joins the non-empty reasons with "; ".
func joinReasons(reasons ...string) string {
	out := ""
	for _, r := range reasons {
		switch {
		case r == "":
		case out == "":
			out = r
		default:
			out += "; " + r
		}
	}
	return out
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
