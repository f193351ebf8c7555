package roster

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/rdonboard/rdonboard/internal/phone"
)

// Canonical names of the columns read: the first two are required, the
// others optional.
const (
	colAccount = "account_id"
	colPhone   = "mobile_phone"
	colName    = "display_name"
	colEmail   = "email"
)

// aliases maps every accepted header name, lower-cased, to the column it
// names.
var aliases = map[string]string{
	"account_id":        colAccount,
	"accountid":         colAccount,
	"mobile_phone":      colPhone,
	"securemobilephone": colPhone,
	"phone":             colPhone,
	"display_name":      colName,
	"displayname":       colName,
	"email":             colEmail,
	"owner_email":       colEmail,
}

// spelled lists the names of each column as the error messages show them.
var spelled = map[string]string{
	colAccount: "account_id (or AccountId)",
	colPhone:   "mobile_phone (or SecureMobilePhone, phone)",
}

// readHeader reads the first non-blank record and finds the required
// columns in it.
func (r *Reader) readHeader() error {
	for {
		rec, perr, err := r.read()
		switch {
		case err == io.EOF:
			return fmt.Errorf("%w: the file is empty or has blank lines only", ErrNoHeader)
		case err != nil:
			return fmt.Errorf("read header: %w", err)
		case perr != nil:
			return fmt.Errorf("header (line %d): malformed CSV: %w", perr.StartLine, perr)
		case isBlank(rec):
			continue
		}
		line, _ := r.cr.FieldPos(0)
		return r.useHeader(rec, line)
	}
}

// useHeader sets the column indexes from header, the header row found on
// line.
func (r *Reader) useHeader(header []string, line int) error {
	idx := map[string]int{}
	for i, h := range header {
		name := strings.TrimSpace(h)
		if name != "" {
			r.width = i + 1 // trailing empty names are padding, not columns
		}
		col, ok := aliases[strings.ToLower(name)]
		if !ok {
			continue
		}
		if j, dup := idx[col]; dup {
			return fmt.Errorf("%w: %s (column %d) and %s (column %d) on line %d both name %s; keep one",
				ErrAmbiguousColumn, quote(strings.TrimSpace(header[j])), j+1, quote(name), i+1, line, col)
		}
		idx[col] = i
	}
	var missing []string
	for _, col := range []string{colAccount, colPhone} {
		if _, ok := idx[col]; !ok {
			missing = append(missing, spelled[col])
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w %s in the header on line %d; found: %s%s",
			ErrMissingColumn, strings.Join(missing, " and "), line, showHeader(header), headerHint(header))
	}
	r.acc, r.ph = idx[colAccount], idx[colPhone]
	r.name, r.email = optional(idx, colName), optional(idx, colEmail)
	return nil
}

// optional returns the index of an optional column, or -1 when the
// header lacks it.
func optional(idx map[string]int, col string) int {
	if i, ok := idx[col]; ok {
		return i
	}
	return -1
}

// showHeader lists the names of header for an error message, the first
// few of them if there are many.
func showHeader(header []string) string {
	const most = 10
	names := make([]string, 0, min(len(header), most))
	for _, h := range header[:min(len(header), most)] {
		names = append(names, quote(strings.TrimSpace(h)))
	}
	s := strings.Join(names, ", ")
	if len(header) > most {
		s += fmt.Sprintf(", … (%d more)", len(header)-most)
	}
	return s
}

// headerHint guesses why a header lacks the required columns.
func headerHint(header []string) string {
	if len(header) == 1 {
		for _, sep := range []string{";", "\t"} {
			if strings.Contains(header[0], sep) {
				return fmt.Sprintf(" (the file seems separated by %s: save it with commas)", strconv.Quote(sep))
			}
		}
	}
	for _, h := range header {
		h = strings.TrimSpace(h)
		if _, err := phone.Normalize(h); err == nil || (h != "" && allDigits(h)) {
			return " (this looks like a data row: the first line must be a header)"
		}
	}
	return ""
}
