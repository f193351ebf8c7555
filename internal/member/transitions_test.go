package member_test

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rdonboard/rdonboard/internal/member"
)

// edge is one transition as the docs and the code state it.
type edge struct {
	From []string
	To   string
}

// diagramEdges reads the transition table of docs/states.md.
func diagramEdges(t *testing.T) map[string]edge {
	t.Helper()
	raw, err := os.ReadFile("../../docs/states.md")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]edge{}
	for i, line := range strings.Split(string(raw), "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(line, "|")
		if len(cells) < 5 {
			t.Fatalf("docs/states.md line %d: want | name | from | to | changes |, got %q", i+1, line)
		}
		name := strings.Trim(strings.TrimSpace(cells[1]), "`")
		var from []string
		for _, f := range strings.Split(cells[2], ",") {
			from = append(from, strings.TrimSpace(f))
		}
		slices.Sort(from)
		if _, dup := out[name]; dup {
			t.Errorf("docs/states.md line %d: transition %s listed twice", i+1, name)
		}
		out[name] = edge{From: from, To: strings.TrimSpace(cells[3])}
	}
	return out
}

// TestTransitionsMatchTheDiagram: every transition of the code is an edge
// of the documented state machine, with the same states, and every
// documented edge is a transition of the code.
func TestTransitionsMatchTheDiagram(t *testing.T) {
	t.Parallel()
	code := map[string]edge{}
	for _, tr := range member.Transitions {
		var from []string
		for _, s := range tr.From {
			from = append(from, string(s))
		}
		slices.Sort(from)
		to := string(tr.To)
		if tr.To == member.Stay {
			to = "(same)"
		}
		if _, dup := code[tr.Name]; dup {
			t.Errorf("transition %s named twice", tr.Name)
		}
		code[tr.Name] = edge{From: from, To: to}
	}
	if diff := cmp.Diff(diagramEdges(t), code); diff != "" {
		t.Errorf("docs/states.md (-) and member.Transitions (+) differ:\n%s", diff)
	}
	known := map[string]bool{string(member.Unadmitted): true, "(same)": true}
	for _, s := range member.States {
		known[string(s)] = true
	}
	for name, e := range code {
		for _, s := range append(slices.Clone(e.From), e.To) {
			if !known[s] {
				t.Errorf("transition %s names %q, not a state", name, s)
			}
		}
	}
}

// TestNamedMoveIsGuardedByItsStates: a named transition refuses a member
// in a state it does not leave, and a repair narrowed to the state it saw
// refuses a member that moved meanwhile.
func TestNamedMoveIsGuardedByItsStates(t *testing.T) {
	t.Parallel()
	s, b := setup(t)
	admitOne(t, s, alice, member.AdmitOptions{})
	id := alice.AccountID
	if _, err := s.Transition(b.ctx, id, member.TakeCode.Move("test", member.SetCode("123456"))); !errorsIsConflict(err) {
		t.Errorf("TakeCode of a pending member: %v, want a conflict", err)
	}
	m, err := s.Transition(b.ctx, id, member.NoteRepair.Move("noted").In(member.Pending))
	if err != nil || m.State != member.Pending {
		t.Fatalf("NoteRepair of a pending member: %s %v, want it noted in pending", m.State, err)
	}
	moveTo(t, s, id, member.Pending, member.CodeSent)
	if _, err := s.Transition(b.ctx, id, member.FailArchived.Move("test").In(member.Pending)); !errorsIsConflict(err) {
		t.Errorf("repair seen in pending, member now code_sent: %v, want a conflict", err)
	}
	h, _ := s.History(context.Background(), id)
	if h[len(h)-2].Reason != "noted" || h[len(h)-2].To != member.Pending {
		t.Errorf("history %+v, want the repair noted", h)
	}
}

func errorsIsConflict(err error) bool { return errors.Is(err, member.ErrConflict) }
