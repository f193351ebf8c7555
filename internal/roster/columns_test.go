package roster

import (
	"errors"
	"strings"
	"testing"
)

// owned is a valid row with a display name and an owner's email; its
// phone is the one of valid, or 86-13900005678 when raw spells that.
func owned(line int, id, raw, name, email string) Row {
	r := ok(line, id, raw)
	if raw == "13900005678" {
		r.Phone = "86-13900005678"
	}
	r.DisplayName, r.Email = name, email
	return r
}

func TestReaderReadsOptionalColumns(t *testing.T) {
	t.Parallel()
	runRowCases(t, []rowCase{{
		name:  "display_name and email",
		input: "account_id,mobile_phone,display_name,email\n1001,13900001234,prod-payments,ann@example.com\n",
		want:  []Row{owned(2, "1001", "13900001234", "prod-payments", "ann@example.com")},
	}, {
		name:  "aliases DisplayName and owner_email, any order and case",
		input: "Owner_Email,DisplayName,AccountId,Phone\n ann@example.com , 支付-生产 ,1001,13900001234\n",
		want:  []Row{owned(2, "1001", "13900001234", "支付-生产", "ann@example.com")},
	}, {
		name:  "both optional",
		input: "account_id,mobile_phone,display_name,email\n1001,13900001234,,\n1002,13900001234,dev,\n",
		want:  []Row{ok(2, "1001", "13900001234"), owned(3, "1002", "13900001234", "dev", "")},
	}, {
		name:  "a name around the address is dropped",
		input: "account_id,mobile_phone,email\n1001,13900001234,Ann Lee <ann@example.com>\n",
		want:  []Row{owned(2, "1001", "13900001234", "", "ann@example.com")},
	}, {
		name: "one phone, one owner, many members",
		input: "account_id,mobile_phone,email\n1001,13900001234,ann@example.com\n1002,+86 139 0000 1234,ANN@example.com\n" +
			"1003,13900001234,\n",
		want: []Row{
			owned(2, "1001", "13900001234", "", "ann@example.com"),
			owned(3, "1002", "+86 139 0000 1234", "", "ANN@example.com"),
			ok(4, "1003", "13900001234"),
		},
	}})
}

func TestReaderRejectsBadOwners(t *testing.T) {
	t.Parallel()
	const head = "account_id,mobile_phone,email\n"
	runRowCases(t, []rowCase{{
		name:  "not an address",
		input: head + "1001,13900001234,ann.example.com\n1002,13900001234,ann@\n1003,13900001234,ann@localhost\n",
		want: []Row{
			rejected(2, "1001", "13900001234", `email "ann.example.com" is not an email address`),
			rejected(3, "1002", "13900001234", `email "ann@" is not an email address`),
			rejected(4, "1003", "13900001234", `email "ann@localhost" is not an email address`),
		},
	}, {
		name:  "a list of addresses",
		input: head + "1001,13900001234,\"a@example.com, b@example.com\"\n",
		want:  []Row{rejected(2, "1001", "13900001234", `email "a@example.com, b@example.com" is not an email address`)},
	}, {
		name:  "every reason at once",
		input: head + "12ab,x,nobody\n",
		want: []Row{rejected(2, "12ab", "x",
			`account_id "12ab" must contain digits only; `+notMobile+`; email "nobody" is not an email address`)},
	}, {
		name: "another owner for the same phone names the first line",
		input: head + "1001,13900001234,ann@example.com\n\n1002,86-13900001234,bob@example.com\n" +
			"1003,13900005678,bob@example.com\n",
		want: []Row{
			owned(2, "1001", "13900001234", "", "ann@example.com"),
			rejected(4, "1002", "86-13900001234",
				`email differs from "ann@example.com" given to the same mobile_phone on line 2: one phone has one owner`),
			owned(5, "1003", "13900005678", "", "bob@example.com"),
		},
	}, {
		name: "a rejected row claims neither its account nor its phone's owner",
		input: head + "1001,13900001234,ann@example.com\n1001,13900005678,bob@example.com\n" +
			"1002,13900005678,carol@example.com\n1003,13900001234,dan@example.com\n1003,13900001234,ann@example.com\n",
		want: []Row{
			owned(2, "1001", "13900001234", "", "ann@example.com"),
			rejected(3, "1001", "13900005678", "duplicate account_id: first seen on line 2"),
			owned(4, "1002", "13900005678", "", "carol@example.com"),
			rejected(5, "1003", "13900001234",
				`email differs from "ann@example.com" given to the same mobile_phone on line 2: one phone has one owner`),
			owned(6, "1003", "13900001234", "", "ann@example.com"),
		},
	}})
}

func TestOptionalColumnsAreNotAmbiguousWithOthers(t *testing.T) {
	t.Parallel()
	_, err := NewReader(strings.NewReader("account_id,mobile_phone,email,owner_email\n"))
	if !errors.Is(err, ErrAmbiguousColumn) {
		t.Fatalf("a header with email and owner_email: %v, want %v", err, ErrAmbiguousColumn)
	}
}
