package roster

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"strings"

	"github.com/gocarina/gocsv"

	"github.com/rdonboard/rdonboard/internal/csvsafe"
	"github.com/rdonboard/rdonboard/internal/phone"
)

// Reject is one row of the rejects CSV. Its csv tags are the file's header
// (line,account_id,mobile_phone,reason), so a tool or a test reads a
// rejects file back with gocsv.Unmarshal into a []Reject.
type Reject struct {
	Line        int    `csv:"line"`
	AccountID   string `csv:"account_id"`
	MobilePhone string `csv:"mobile_phone"`
	Reason      string `csv:"reason"`
}

// RejectsWriter writes the rejects CSV that `enqueue members` leaves
// beside the roster: one row per rejected row of the roster. Output is
// buffered: nothing is sure to reach the writer before Flush. It is not
// safe for concurrent use.
type RejectsWriter struct {
	buf    *bufio.Writer
	csv    *gocsv.SafeCSVWriter
	reveal bool
}

// NewRejectsWriter returns a RejectsWriter on w and writes the header.
// Phone numbers are masked (phone.Mask) unless revealPhones, which the
// operator asks for explicitly; so is an account ID that looks like a
// phone number (swapped columns).
func NewRejectsWriter(w io.Writer, revealPhones bool) (*RejectsWriter, error) {
	buf := bufio.NewWriter(w)
	// gocsv flushes the csv.Writer after every call; hidden behind a plain
	// io.Writer, buf is not adopted by csv.NewWriter as its own buffer, so
	// those flushes stop at buf and a reject costs no system call. The
	// SafeCSVWriter is our own: gocsv's SetCSVWriter is package-global.
	cw := gocsv.NewSafeCSVWriter(csv.NewWriter(struct{ io.Writer }{buf}))
	if err := gocsv.MarshalCSV([]Reject{}, cw); err != nil {
		return nil, fmt.Errorf("write rejects header: %w", err)
	}
	return &RejectsWriter{buf: buf, csv: cw, reveal: revealPhones}, nil
}

// Write adds one rejected row: its line in the roster, its account ID and
// phone as written, and the reason, every cell safe to open in a
// spreadsheet (csvsafe.Cell).
func (w *RejectsWriter) Write(line int, accountID, rawPhone, reason string) error {
	accountID, rawPhone = Shown(accountID, rawPhone, w.reveal)
	row := []Reject{{
		Line:        line,
		AccountID:   csvsafe.Cell(strings.ToValidUTF8(accountID, "\uFFFD")),
		MobilePhone: csvsafe.Cell(strings.ToValidUTF8(rawPhone, "\uFFFD")),
		Reason:      csvsafe.Cell(strings.ToValidUTF8(reason, "\uFFFD")),
	}}
	if err := gocsv.MarshalCSVWithoutHeaders(row, w.csv); err != nil {
		return fmt.Errorf("write reject of line %d: %w", line, err)
	}
	return nil
}

// Flush writes any buffered rows to the underlying writer.
func (w *RejectsWriter) Flush() error {
	if err := w.csv.Error(); err != nil {
		return fmt.Errorf("write rejects: %w", err)
	}
	if err := w.buf.Flush(); err != nil {
		return fmt.Errorf("write rejects: %w", err)
	}
	return nil
}

// Shown returns a rejected row's account ID and phone as reports show them:
// masked, unless reveal is set (an operator asked for full numbers).
func Shown(accountID, rawPhone string, reveal bool) (string, string) {
	if reveal {
		return accountID, rawPhone
	}
	return maskAccountID(accountID), maskPhone(rawPhone)
}

// maskPhone masks a phone as written: the normalized form when it has
// one (86-139****1234), else all but its last 4 characters.
func maskPhone(raw string) string {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return ""
	}
	if p, err := phone.Normalize(raw); err == nil {
		return phone.Mask(p)
	}
	return phone.Mask(raw)
}

// maskAccountID keeps an account ID as written, unless it could hold a
// phone number: then its digit runs are masked (redact).
func maskAccountID(id string) string {
	if _, err := phone.Normalize(id); err != nil && validAccountID(id) {
		return id
	}
	return redact(id)
}
