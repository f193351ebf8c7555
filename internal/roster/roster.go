// Package roster owns the member CSV an operator hands to `enqueue
// members` (README, "The roster CSV"): it streams the file row by row,
// validates every row, and writes the rows it rejects to a rejects CSV.
//
// Memory stays flat in the size of the file: a Reader holds one record at
// a time (at most MaxRecordBytes) and, to find repeated account IDs, a few
// bytes per valid row.
package roster

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/rdonboard/rdonboard/internal/phone"
)

// MaxRecordBytes bounds one record of the file, with the empty lines
// before it. A longer one is almost always a quote that is never closed,
// swallowing the rest of the file; the Reader stops with ErrRecordTooLong
// instead of buffering it.
const MaxRecordBytes = 1 << 20

// Errors that stop a Reader. NewReader and Next wrap them with the line
// and the names concerned; compare with errors.Is.
var (
	// ErrNoHeader reports a file with no header row: empty, or blank lines only.
	ErrNoHeader = errors.New("no header row")
	// ErrMissingColumn reports a header without account_id or mobile_phone.
	ErrMissingColumn = errors.New("missing column")
	// ErrAmbiguousColumn reports a header naming a column twice, as in
	// account_id and AccountId.
	ErrAmbiguousColumn = errors.New("ambiguous column")
	// ErrRecordTooLong reports a record longer than MaxRecordBytes.
	ErrRecordTooLong = errors.New("record too long")
	// ErrUnclosedQuote reports a quoted field that runs over several lines
	// to the end of the file: where the rows resume cannot be told.
	ErrUnclosedQuote = errors.New("quoted field not closed before the end of the file")
)

// Row is one data row of the file, valid or not.
type Row struct {
	// Line is the 1-based physical line of the file where the record
	// starts (blank lines and lines inside quoted fields count).
	Line int
	// AccountID is the account_id field, trimmed.
	AccountID string
	// Phone is the number normalized as the site stores it
	// (86-1xxxxxxxxxx on the China site, <country code>-<number> on the
	// international one); empty unless the row is valid.
	Phone string
	// RawPhone is the mobile_phone field as written, trimmed.
	RawPhone string
	// DisplayName is the optional display_name field, trimmed: the
	// member's name as the phone's owner is shown it.
	DisplayName string
	// Email is the optional email field: the address of the phone's
	// owner, without any display name around it (a@example.com, not
	// "Ann <a@example.com>"); empty when the file has none for the row.
	Email string
	// Reject is empty for a valid row; otherwise why the row is rejected,
	// for a person to read. It never holds a full phone number.
	Reject string
}

// Reader streams the data rows of a member CSV. Make one with NewReader.
// It is not safe for concurrent use.
type Reader struct {
	src   *source
	cr    *csv.Reader
	bom   int64 // bytes of the byte-order mark stripped before cr
	width int   // columns of the header, trailing empty names aside
	acc   int   // index of the account_id column
	ph    int   // index of the mobile_phone column
	name  int   // index of the display_name column, or -1
	email int   // index of the email column, or -1
	site  phone.Site
	seen  seen
	// owners remembers the first email given to each phone, and its line.
	owners map[string]owner
	last   int   // last physical line read so far, for error messages
	err    error // once set, every Next returns it
}

// Options tune a Reader.
type Options struct {
	// Site is the organisation's Alibaba Cloud site, whose rule decides
	// the phone numbers accepted (phone.Site.Normalize); default
	// phone.China.
	Site phone.Site
}

// NewReader is NewReaderWith for the China site.
func NewReader(r io.Reader) (*Reader, error) {
	return NewReaderWith(r, Options{})
}

// NewReaderWith reads and checks the header row of a member CSV from r. Header
// names are trimmed and case-insensitive; account_id (alias AccountId) and
// mobile_phone (aliases SecureMobilePhone, phone) are required;
// display_name (alias DisplayName) and email (alias owner_email) are read
// when present; other columns are ignored. A UTF-8 byte-order mark and blank lines before the
// header are skipped. The error names what is wrong and shows the header
// found: ErrNoHeader, ErrMissingColumn, ErrAmbiguousColumn, a
// *csv.ParseError, an error of Next, or the error of r.
func NewReaderWith(r io.Reader, opts Options) (*Reader, error) {
	src := &source{r: r, limit: MaxRecordBytes}
	br := bufio.NewReader(src) // csv.NewReader reuses it: one buffer
	bom, err := skipBOM(br)
	if err != nil {
		return nil, fmt.Errorf("read header: %w", err)
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1 // field counts are checked per row, as rejects
	cr.ReuseRecord = true
	rd := &Reader{src: src, cr: cr, bom: bom, site: opts.Site}
	if err := rd.readHeader(); err != nil {
		return nil, err
	}
	return rd, nil
}

// skipBOM discards a UTF-8 byte-order mark at the start of br and returns
// its length.
func skipBOM(br *bufio.Reader) (int64, error) {
	const bom = "\ufeff"
	b, err := br.Peek(len(bom))
	if err != nil && err != io.EOF {
		return 0, err
	}
	if string(b) != bom {
		return 0, nil
	}
	_, err = br.Discard(len(bom))
	return int64(len(bom)), err
}

// Next returns the next data row, skipping blank lines, and io.EOF after
// the last one. A row with a problem (a bad field, a repeated account ID,
// malformed CSV) comes back with Row.Reject set, never as an error. An
// error is the end of reading: the error of the underlying reader,
// ErrRecordTooLong or ErrUnclosedQuote, each naming the line; every later
// call returns it again.
//
// A repeated account ID rejects the later row, naming the line of the
// first valid row with that ID. So does a row that gives a phone another
// email than an earlier valid row did: one phone has one owner. A rejected row does not claim its account
// ID: when a row with a bad phone is followed by a corrected row for the
// same member, the corrected row is accepted.
func (r *Reader) Next() (Row, error) {
	for r.err == nil {
		rec, perr, err := r.read()
		switch {
		case err != nil:
			r.err = err
		case perr != nil:
			return r.malformed(rec, perr), nil
		case isBlank(rec):
			continue
		default:
			return r.check(rec), nil
		}
	}
	return Row{}, r.err
}

// Offset returns the number of bytes of the file consumed so far, the
// byte-order mark included: after io.EOF, the size of the file. It is
// meant for a progress bar.
func (r *Reader) Offset() int64 {
	return r.bom + r.cr.InputOffset()
}

// read reads one record. perr reports a record that is malformed but
// after which reading goes on; err ends reading.
func (r *Reader) read() (rec []string, perr *csv.ParseError, err error) {
	r.src.allow(r.Offset() + MaxRecordBytes)
	rec, err = r.cr.Read()
	switch {
	case r.src.tooLong:
		return nil, nil, r.errTooLong(rec)
	case err == nil:
		r.last = r.endLine(rec)
		return rec, nil, nil
	case err == io.EOF:
		return nil, nil, io.EOF
	}
	return r.readError(rec, err)
}

// readError sorts an error of the csv.Reader into a malformed record and
// the end of reading. (Apart from read, so that only a failed read pays
// for the *csv.ParseError that errors.As moves to the heap.)
func (r *Reader) readError(rec []string, err error) ([]string, *csv.ParseError, error) {
	var perr *csv.ParseError
	if !errors.As(err, &perr) {
		return nil, nil, fmt.Errorf("read after line %d: %w", r.last, err)
	}
	r.last = perr.Line
	if perr.Err == csv.ErrQuote && perr.Line > perr.StartLine && r.src.drained(r.Offset()) {
		return nil, nil, fmt.Errorf("line %d: %w (line %d)", perr.StartLine, ErrUnclosedQuote, perr.Line)
	}
	return rec, perr, nil
}

// endLine returns the physical line on which rec, just read, ends: a
// quoted field keeps one \n for each line break it spans.
func (r *Reader) endLine(rec []string) int {
	last := len(rec) - 1
	line, _ := r.cr.FieldPos(last)
	return line + strings.Count(rec[last], "\n")
}

func (r *Reader) errTooLong(rec []string) error {
	if len(rec) > 0 {
		line, _ := r.cr.FieldPos(0)
		return fmt.Errorf("line %d: %w: over %d bytes (is a quote not closed?)", line, ErrRecordTooLong, MaxRecordBytes)
	}
	return fmt.Errorf("record after line %d: %w: over %d bytes (is a quote not closed?)", r.last, ErrRecordTooLong, MaxRecordBytes)
}

// isBlank reports whether every field of rec is white space: an empty
// line, or a row of empty cells such as ",,", which spreadsheets write.
func isBlank(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

// field returns field i of rec, trimmed, or "" when rec is shorter.
func field(rec []string, i int) string {
	if i < len(rec) {
		return strings.TrimSpace(rec[i])
	}
	return ""
}

// malformed turns a record encoding/csv could not parse into a rejected
// row; reading goes on at the next line.
func (r *Reader) malformed(rec []string, perr *csv.ParseError) Row {
	at := "column " + strconv.Itoa(perr.Column)
	if perr.Line != perr.StartLine {
		at = fmt.Sprintf("line %d, %s", perr.Line, at)
	}
	what := perr.Err.Error()
	switch perr.Err {
	case csv.ErrBareQuote:
		what = `a " in an unquoted field (quote the field and double the " inside)`
	case csv.ErrQuote:
		what = `a quoted field is not closed properly (a " inside must be doubled)`
	}
	return Row{
		Line:      perr.StartLine,
		AccountID: field(rec, r.acc),
		RawPhone:  field(rec, r.ph),
		Reject:    fmt.Sprintf("malformed CSV: %s at %s", what, at),
	}
}

// source is the file under the csv.Reader. It counts the bytes read and
// refuses to hand out more than allowed, so one record (an unclosed quote,
// a file without line breaks) cannot grow the csv.Reader's buffers with
// the size of the file.
type source struct {
	r       io.Reader
	n       int64 // bytes handed out
	limit   int64 // bytes that may be handed out
	eof     bool  // r reported io.EOF
	tooLong bool  // the limit was hit
}

func (s *source) Read(p []byte) (int, error) {
	if s.n >= s.limit {
		s.tooLong = true
		return 0, ErrRecordTooLong
	}
	if room := s.limit - s.n; int64(len(p)) > room {
		p = p[:room]
	}
	n, err := s.r.Read(p)
	s.n += int64(n)
	if err == io.EOF {
		s.eof = true
	}
	return n, err
}

// allow lets reading go on up to offset limit.
func (s *source) allow(limit int64) { s.limit = limit }

// drained reports whether all of the file was read and consumed up to
// offset.
func (s *source) drained(offset int64) bool { return s.eof && offset == s.n }

// seen remembers the line of the first valid row of each account ID, in
// a few bytes per ID: an ID of up to 19 digits without a leading zero is
// kept as a number; others (longer, or "007", which is not "7") as a
// string.
type seen struct {
	num map[uint64]uint32
	str map[string]uint32
}

// claim records id as first seen on line, unless it was seen before:
// then it returns that line and true.
func (s *seen) claim(id string, line int) (first int, dup bool) {
	// A roster of more than 4 billion lines is not expected; clamping keeps
	// the answer on the side of "a later line".
	l := uint32(min(line, math.MaxUint32))
	if n, ok := numericKey(id); ok {
		if s.num == nil {
			s.num = make(map[uint64]uint32)
		}
		if f, ok := s.num[n]; ok {
			return int(f), true
		}
		s.num[n] = l
		return 0, false
	}
	if s.str == nil {
		s.str = make(map[string]uint32)
	}
	if f, ok := s.str[id]; ok {
		return int(f), true
	}
	s.str[strings.Clone(id)] = l // not a slice of the whole record
	return 0, false
}

// numericKey returns id as a number when that keeps it distinct from
// every other ID.
func numericKey(id string) (uint64, bool) {
	if len(id) > 19 || (len(id) > 1 && id[0] == '0') {
		return 0, false
	}
	n, err := strconv.ParseUint(id, 10, 64)
	return n, err == nil
}
