package member

import (
	"fmt"
	"regexp"
	"strings"
)

// MaxBatchLen is the longest batch name.
const MaxBatchLen = 64

// batchName is the character set of batch names: ASCII letters, digits,
// '.', '_' and '-', opening with a letter or digit. Batch names reach
// reports, CSV files, metric labels and command lines; this set is safe in
// each (no spreadsheet formula, no flag, no quoting).
var batchName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// CheckBatch reports why name is not a valid batch name, or nil.
func CheckBatch(name string) error {
	if len(name) > MaxBatchLen || !batchName.MatchString(name) {
		return fmt.Errorf("batch name %q: want 1 to %d of A-Z a-z 0-9 . _ -, opening with a letter or digit", name, MaxBatchLen)
	}
	return nil
}

// batchUnfit is a run of characters outside the batch name set.
var batchUnfit = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// BatchFrom makes a valid batch name of s (a file's base name, say): runs
// of other characters become '_', the ends are trimmed of '.', '_' and
// '-', and the name is cut to MaxBatchLen; fallback when nothing is left.
func BatchFrom(s, fallback string) string {
	name := strings.Trim(batchUnfit.ReplaceAllString(s, "_"), "._-")
	if len(name) > MaxBatchLen {
		name = strings.TrimRight(name[:MaxBatchLen], "._-")
	}
	if name == "" {
		return fallback
	}
	return name
}
