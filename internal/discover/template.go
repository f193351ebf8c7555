package discover

import (
	"bufio"
	"io"
	"strings"

	"github.com/rdonboard/rdonboard/internal/csvsafe"
)

// TemplateHeader is the header of the roster template: the columns
// `enqueue members` reads, the last two left for the operator to fill.
var TemplateHeader = []string{"account_id", "display_name", "folder_path", "mobile_phone", "email"}

// WriteTemplate writes the roster template of found to w: UTF-8 with a
// byte-order mark (so a spreadsheet reads the Chinese names right), a
// header, and one row per member with mobile_phone and email empty. Cells
// a spreadsheet would run as a formula are neutralised (csvsafe): display
// names come from the directory, where whoever may name an account can
// put one.
func WriteTemplate(w io.Writer, found []Found) error {
	bw := bufio.NewWriter(w)
	if _, err := bw.WriteString("\ufeff"); err != nil {
		return err
	}
	cw := csvsafe.NewWriter(bw)
	if err := cw.Write(TemplateHeader); err != nil {
		return err
	}
	for _, f := range found {
		row := []string{f.AccountID, valid(f.DisplayName), valid(f.FolderPath), "", ""}
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

// valid replaces bytes that are not UTF-8, which the template promises.
func valid(s string) string { return strings.ToValidUTF8(s, "\uFFFD") }
