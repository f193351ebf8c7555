// Package csvsafe keeps the CSV files the project writes (rejects, member
// lists, link lists) from being read as formulas when an operator opens
// them in a spreadsheet (CSV injection). Every CSV writer of the project
// passes its cells through Cell, or writes through Writer.
package csvsafe

import (
	"encoding/csv"
	"io"
)

// Cell returns s as a cell no spreadsheet runs: a cell that opens with =,
// +, -, @, a tab or a carriage return gets a leading '. A sign before a
// digit is no exception: "-2+3+cmd|…" is a formula too. Masked phones
// (86-139****1234) and account IDs open with a digit and stay as they are.
func Cell(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}

// Writer is a csv.Writer whose records are neutralised cell by cell.
type Writer struct {
	*csv.Writer
}

// NewWriter returns a Writer on w.
func NewWriter(w io.Writer) *Writer { return &Writer{csv.NewWriter(w)} }

// Write writes one record, each cell through Cell; record is not changed.
func (w *Writer) Write(record []string) error {
	safe := make([]string, len(record))
	for i, c := range record {
		safe[i] = Cell(c)
	}
	return w.Writer.Write(safe)
}
