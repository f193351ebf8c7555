package roster

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/rdonboard/rdonboard/internal/phone"
)

// A file built from N random valid rows, spelled every way the contract
// allows, reads back as exactly those N rows, in order, on their lines.
func TestReaderReadsRandomValidFiles(t *testing.T) {
	t.Parallel()
	for seed := range uint64(200) {
		rng := rand.New(rand.NewPCG(seed, 1))
		input, want := randomRoster(rng, rng.IntN(300))
		got, err := readAll(t, input)
		if err != nil {
			t.Fatalf("seed %d: %v\n%s", seed, err, input)
		}
		if len(got) != len(want) {
			t.Fatalf("seed %d: read %d rows; want %d\n%q", seed, len(got), len(want), input)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("seed %d, row %d:\n got %#v\nwant %#v\n%q", seed, i, got[i], want[i], input)
			}
		}
	}
}

// randomRoster returns a member CSV of n valid rows and the rows a Reader
// must return for it.
func randomRoster(rng *rand.Rand, n int) (string, []Row) {
	f := &fileBuilder{rng: rng, crlf: rng.IntN(3)}
	if rng.IntN(2) == 0 {
		f.b.WriteString("\ufeff")
	}
	f.blanks()
	cols := []string{
		pick(rng, "account_id", "AccountId"),
		pick(rng, "mobile_phone", "SecureMobilePhone", "phone"),
	}
	note := rng.IntN(3) // 0: no note column; 1, 2: before or after
	if note > 0 {
		cols = append(cols, "note")
	}
	if note == 1 {
		cols[0], cols[2] = cols[2], cols[0]
	}
	rng.Shuffle(len(cols), func(i, j int) { cols[i], cols[j] = cols[j], cols[i] })
	for i, c := range cols {
		cols[i] = f.pad(randomCase(rng, c))
	}
	f.record(cols)

	seen := map[string]bool{}
	var rows []Row
	for range n {
		f.blanks()
		id := randomAccountID(rng, seen)
		digits := randomMobile(rng)
		raw := spell(rng, digits)
		rows = append(rows, Row{Line: f.line, AccountID: id, Phone: "86-" + digits, RawPhone: raw})
		fields := make([]string, len(cols))
		for i, c := range cols {
			switch strings.ToLower(strings.TrimSpace(c)) {
			case "account_id", "accountid":
				fields[i] = f.pad(id)
			case "note":
				fields[i] = pick(rng, "", "plain", "a, comma", "two\nlines", "three\r\nlines\nhere", `a "quote"`)
			default:
				fields[i] = f.pad(raw)
			}
		}
		f.record(fields)
	}
	f.blanks()
	return f.b.String(), rows
}

// fileBuilder writes CSV records and counts the physical lines.
type fileBuilder struct {
	rng  *rand.Rand
	b    strings.Builder
	line int // of the next record
	crlf int // 0: LF, 1: CRLF, 2: either, line by line
}

func (f *fileBuilder) newline() {
	if f.crlf == 1 || (f.crlf == 2 && f.rng.IntN(2) == 0) {
		f.b.WriteString("\r\n")
	} else {
		f.b.WriteString("\n")
	}
}

// record writes fields, quoting those that need it and some that do not.
func (f *fileBuilder) record(fields []string) {
	if f.line == 0 {
		f.line = 1
	}
	for i, v := range fields {
		if i > 0 {
			f.b.WriteByte(',')
		}
		if strings.ContainsAny(v, ",\"\r\n") || f.rng.IntN(4) == 0 {
			v = `"` + strings.ReplaceAll(v, `"`, `""`) + `"`
		}
		f.b.WriteString(v)
		f.line += strings.Count(v, "\n")
	}
	f.newline()
	f.line++
}

// blanks writes zero to two lines a Reader skips.
func (f *fileBuilder) blanks() {
	if f.line == 0 {
		f.line = 1
	}
	for range f.rng.IntN(3) {
		f.b.WriteString(pick(f.rng, "", "  ", ",,", " \t, "))
		f.newline()
		f.line++
	}
}

// pad surrounds v with white space, sometimes.
func (f *fileBuilder) pad(v string) string {
	if f.rng.IntN(3) == 0 {
		return pick(f.rng, " ", "\t", "  ") + v + pick(f.rng, "", " ", "\t")
	}
	return v
}

// spell writes an 11-digit mainland number in one of the accepted ways.
func spell(rng *rand.Rand, d string) string {
	switch rng.IntN(7) {
	case 0:
		return "86-" + d
	case 1:
		return "+86 " + d[:3] + " " + d[3:7] + " " + d[7:]
	case 2:
		return "+86" + d
	case 3:
		return d
	case 4:
		return d[:3] + "-" + d[3:7] + "-" + d[7:]
	case 5:
		return "+86-" + d
	default:
		return "86 " + d
	}
}

// randomAccountID returns an account ID not in seen, of 1 to 32 digits.
func randomAccountID(rng *rand.Rand, seen map[string]bool) string {
	for {
		var b strings.Builder
		for range 1 + rng.IntN(32) {
			b.WriteByte(byte('0' + rng.IntN(10)))
		}
		if id := b.String(); !seen[id] {
			seen[id] = true
			return id
		}
	}
}

func randomCase(rng *rand.Rand, s string) string {
	b := []byte(s)
	for i := range b {
		if rng.IntN(2) == 0 {
			b[i] = strings.ToUpper(string(b[i]))[0]
		} else {
			b[i] = strings.ToLower(string(b[i]))[0]
		}
	}
	return string(b)
}

func pick(rng *rand.Rand, choices ...string) string { return choices[rng.IntN(len(choices))] }

// randomMobile returns the 11 digits of a random mainland mobile number,
// as the phonenumbers library sees them.
func randomMobile(rng *rand.Rand) string {
	for {
		digits := fmt.Sprintf("1%d%09d", 3+rng.IntN(7), rng.IntN(1_000_000_000))
		if _, err := phone.Normalize(digits); err == nil {
			return digits
		}
	}
}
