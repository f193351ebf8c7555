package roster_test

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/rdonboard/rdonboard/internal/roster"
)

func Example() {
	file := strings.NewReader("AccountId,phone,name\n" +
		"1386606283481234,+86 139 0000 1234,Alice\n" +
		"\n" +
		"1386606283481235,+1 555 123 4567,Bob\n" +
		"1386606283481234,13900005678,Alice again\n")
	r, err := roster.NewReader(file)
	if err != nil {
		fmt.Println(err) // the enqueue command exits 2
		return
	}
	rejects, err := roster.NewRejectsWriter(os.Stdout, false)
	if err != nil {
		fmt.Println(err)
		return
	}
	for {
		row, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Println(err)
			return
		}
		if row.Reject != "" {
			if err := rejects.Write(row.Line, row.AccountID, row.RawPhone, row.Reject); err != nil {
				fmt.Println(err)
				return
			}
			continue
		}
		fmt.Printf("line %d: enqueue %s with %s\n", row.Line, row.AccountID, row.Phone)
	}
	if err := rejects.Flush(); err != nil {
		fmt.Println(err)
	}
	// Output:
	// line 2: enqueue 1386606283481234 with 86-13900001234
	// line,account_id,mobile_phone,reason
	// 4,1386606283481235,***********4567,mobile_phone: only mainland China numbers (+86) are accepted
	// 5,1386606283481234,86-139****5678,duplicate account_id: first seen on line 2
}
