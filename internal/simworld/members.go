package simworld

import (
	"fmt"
	"strings"
)

// Member is one roster row of a simulated organisation: Name is its
// display_name and Email its phone owner's address (either may be empty).
type Member struct{ AccountID, Phone, Name, Email string }

// Members returns n members with distinct account IDs and phones, starting
// at first: account 1000…first, phone 86-139 and first in eight digits.
func Members(first, n int) []Member {
	rows := make([]Member, n)
	for i := range rows {
		k := first + i
		rows[i] = Member{AccountID: fmt.Sprintf("1%015d", k), Phone: fmt.Sprintf("86-139%08d", k)}
	}
	return rows
}

// SharePhone returns n members (accounts numbered from first) on one
// phone, whose owner reads email at address, with display names
// acct-<number>.
func SharePhone(first, n int, address string) []Member {
	rows := Members(first, n)
	for i := range rows {
		rows[i].Phone, rows[i].Email, rows[i].Name = fmt.Sprintf("86-139%08d", first), address, fmt.Sprintf("acct-%d", first+i)
	}
	return rows
}

// RosterCSV writes rows as the roster `enqueue members` reads.
func RosterCSV(rows []Member) string {
	var b strings.Builder
	b.WriteString("account_id,mobile_phone,display_name,email\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "%s,%s,%s,%s\n", r.AccountID, r.Phone, r.Name, r.Email)
	}
	return b.String()
}
