// Package simworld is the world around rdonboard when it runs on one
// machine: the mailboxes of the phones' owners (an SMTP server that keeps
// what it is sent) and the owners themselves, who take the owner link from
// their email and the code from their phone's view in the sandbox, and hand
// it in on the owner page. The demo and the tests both run it; it imports
// no testing package.
package simworld
