package reconcile_test

import (
	"testing"

	"github.com/rdonboard/rdonboard/internal/harness"
	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/tasks"
)

// TestArchivedCodeThatWillNotRunIsDeleted: a code hand-in archived by hand
// for a member that no longer waits for a code is deleted by a run, so no
// code stays at rest in the archive.
func TestArchivedCodeThatWillNotRunIsDeleted(t *testing.T) {
	t.Parallel()
	b := setup(t, harness.Options{Workers: -1})
	row := harness.Members(0, 1)[0]
	b.admit(t, row)
	b.move(t, row.AccountID, member.Pending, member.Bound)
	task, _ := tasks.NewCodeSubmitted(row.AccountID, "731902")
	info, err := b.env.Client.Enqueue(task)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.insp.ArchiveTask(tasks.QueueCallback, info.ID); err != nil {
		t.Fatal(err)
	}

	b.run(t, false)

	archived, _ := b.insp.ListArchivedTasks(tasks.QueueCallback)
	if len(archived) != 0 {
		t.Errorf("%d archived code hand-ins left after the run (%s), want none", len(archived), archived[0].Payload)
	}
}
