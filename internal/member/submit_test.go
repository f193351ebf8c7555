package member_test

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/internal/redistest"
)

// TestCodePrintIsKeyedPerDeployment: the fingerprint of a code is not the
// plain hash anyone could compute over the million codes; two processes
// of one deployment agree on it, two deployments do not.
func TestCodePrintIsKeyedPerDeployment(t *testing.T) {
	t.Parallel()
	s, _ := setup(t)
	id, code := alice.AccountID, "123456"
	got := codePrint(t, s, id, code)

	sum := sha256.Sum256([]byte("rdonboard code\x00" + id + "\x00" + code))
	plain := hex.EncodeToString(sum[:])
	if strings.HasPrefix(plain, got[:24]) || strings.Contains(got, code) {
		t.Errorf("fingerprint %s is the unkeyed SHA-256 of the code (or holds it)", got)
	}
	same := member.New(s.Redis(), member.Options{})
	if again := codePrint(t, same, id, code); again != got {
		t.Errorf("a second process of the deployment: fingerprint %s, want %s", again, got)
	}
	other := member.New(redistest.DB(t), member.Options{})
	if elsewhere := codePrint(t, other, id, code); elsewhere == got {
		t.Error("another deployment computes the same fingerprint: the key is not per deployment")
	}
}

// admitAliceAndBob admits alice and bob, another account on her phone,
// and returns bob.
func admitAliceAndBob(t *testing.T, s *member.Store) member.Candidate {
	t.Helper()
	bob := alice
	bob.AccountID = "1000000000000002"
	admitOne(t, s, alice, member.AdmitOptions{})
	admitOne(t, s, bob, member.AdmitOptions{})
	return bob
}

// TestFingerprintLeavesTheMemberAtTheEnd: once bound, the member's record
// keeps no fingerprint of its code; the code that bound it is known as a
// repeat only for RepeatWindow, in a key that expires. A failed member
// keeps none at all.
func TestFingerprintLeavesTheMemberAtTheEnd(t *testing.T) {
	t.Parallel()
	s, b := setup(t)
	bob := admitAliceAndBob(t, s)
	rdb := s.Redis()
	for _, id := range []string{alice.AccountID, bob.AccountID} {
		moveTo(t, s, id, member.Pending, member.CodeSent)
		if _, err := s.CountSubmission(b.ctx, id, codePrint(t, s, id, "123456"), 3); err != nil {
			t.Fatal(err)
		}
		moveTo(t, s, id, member.CodeSent, member.CodeSubmitted)
	}
	moveTo(t, s, alice.AccountID, member.CodeSubmitted, member.Bound)
	moveTo(t, s, bob.AccountID, member.CodeSubmitted, member.Failed)

	for _, id := range []string{alice.AccountID, bob.AccountID} {
		if f, _ := rdb.HGetAll(b.ctx, s.Prefix()+"m:"+id).Result(); f["last"] != "" || f["code"] != "" {
			t.Errorf("member %s after its end keeps last=%q code=%q, want neither", id, f["last"], f["code"])
		}
	}
	ttl, err := rdb.PTTL(b.ctx, s.Prefix()+"cp:"+alice.AccountID).Result()
	if err != nil || ttl <= 0 || ttl > member.RepeatWindow {
		t.Errorf("repeat window of the bound member's code: TTL %v (%v), want (0, %v]", ttl, err, member.RepeatWindow)
	}
	if n, _ := rdb.Exists(b.ctx, s.Prefix()+"cp:"+bob.AccountID).Result(); n != 0 {
		t.Error("a failed member's code fingerprint is kept")
	}
	if sub, err := s.CountSubmission(b.ctx, alice.AccountID, codePrint(t, s, alice.AccountID, "123456"), 3); err != nil || !sub.Repeat {
		t.Errorf("the bound code again within the window: %+v %v, want a repeat", sub, err)
	}
}

// TestPhoneChangeWaitsForABindInFlight: a member whose bind with its
// current phone is in flight (code_submitted), or whose earlier bind had
// no answer (in doubt), is not restarted on a new phone: the old phone may
// end bound in the cloud. The row is refused and the member keeps its
// state and its doubt mark; once its bind is over the change goes through.
func TestPhoneChangeWaitsForABindInFlight(t *testing.T) {
	t.Parallel()
	s, b := setup(t)
	bob := admitAliceAndBob(t, s)
	moveTo(t, s, alice.AccountID, member.Pending, member.CodeSent)
	moveTo(t, s, alice.AccountID, member.CodeSent, member.CodeSubmitted)
	moveTo(t, s, bob.AccountID, member.Pending, member.CodeSent)
	if _, err := s.Transition(b.ctx, bob.AccountID, member.Move{From: []member.State{member.CodeSent}, To: member.CodeSent,
		Reason: "test", Edits: []member.Edit{member.SetInDoubt(true)}}); err != nil {
		t.Fatal(err)
	}

	for _, c := range []member.Candidate{alice, bob} {
		c.Phone = "86-13900005678"
		for _, dry := range []bool{true, false} {
			if a := admitOne(t, s, c, member.AdmitOptions{DryRun: dry}); a.Outcome != member.RefusedBinding {
				t.Errorf("%s with a new phone (dry run %v): %s, want %s", c.AccountID, dry, a.Outcome, member.RefusedBinding)
			}
		}
	}
	if m, _ := s.Get(b.ctx, alice.AccountID); m.State != member.CodeSubmitted || m.Phone != alice.Phone {
		t.Errorf("member with its bind in flight: %s on %s, want code_submitted on its old phone", m.State, m.Phone)
	}
	if m, _ := s.Get(b.ctx, bob.AccountID); m.State != member.CodeSent || !m.BindInDoubt {
		t.Errorf("member with a bind in doubt: %s in doubt=%v, want code_sent still in doubt", m.State, m.BindInDoubt)
	}

	moveTo(t, s, alice.AccountID, member.CodeSubmitted, member.CodeSent)
	c := alice
	c.Phone = "86-13900005678"
	if a := admitOne(t, s, c, member.AdmitOptions{}); a.Outcome != member.Restarted {
		t.Errorf("after the bind ended (wrong code): %s, want restarted", a.Outcome)
	}
}
