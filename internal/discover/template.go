package discover

import (
	"bufio"
	"encoding/csv"
	"io"
	"strings"
)

// TemplateHeader is the header of the roster template: the columns
// `enqueue members` reads, the last two left for the operator to fill.
var TemplateHeader = []string{"account_id", "display_name", "folder_path", "mobile_phone", "email"}

// WriteTemplate writes the roster template of found to w: UTF-8 with a
// byte-order mark (so a spreadsheet reads the Chinese names right), a
// header, and one row per member with mobile_phone and email empty. Cells
// that a spreadsheet would run as a formula are made inert.
func WriteTemplate(w io.Writer, found []Found) error {
	bw := bufio.NewWriter(w)
	if _, err := bw.WriteString("\ufeff"); err != nil {
		return err
	}
	cw := csv.NewWriter(bw)
	if err := cw.Write(TemplateHeader); err != nil {
		return err
	}
	for _, f := range found {
		row := []string{inert(f.AccountID), inert(f.DisplayName), inert(f.FolderPath), "", ""}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	return bw.Flush()
}

// inert keeps a cell from being read as a formula by a spreadsheet: one
// that opens with = + - @, a tab or a carriage return gets a leading '.
// Display names come from the directory, where anyone who may name an
// account can put a formula.
func inert(cell string) string {
	cell = strings.ToValidUTF8(cell, "\uFFFD")
	if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
		return "'" + cell
	}
	return cell
}
