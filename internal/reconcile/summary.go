package reconcile

import "github.com/rdonboard/rdonboard/internal/runlog"

// The record of runs lives in internal/runlog, which the read side uses
// without linking reconciliation; these names are its own.
type (
	// Summary is the record of one reconciliation run.
	Summary = runlog.Summary
	// Drift is the members bound here whose phone the cloud does not
	// report.
	Drift = runlog.Drift
	// Runs is the store of run summaries.
	Runs = runlog.Runs
)

// Limits of what is stored of runs, and the kinds of repair.
const (
	MaxRuns         = runlog.MaxRuns
	MaxDriftListed  = runlog.MaxDriftListed
	MaxErrorsListed = runlog.MaxErrorsListed

	RepairCodeExpired     = runlog.RepairCodeExpired
	RepairBindRequeued    = runlog.RepairBindRequeued
	RepairSendRequeued    = runlog.RepairSendRequeued
	RepairArchivedPutBack = runlog.RepairArchivedPutBack
	RepairArchivedFailed  = runlog.RepairArchivedFailed
	RepairAlreadyBound    = runlog.RepairAlreadyBound
	RepairBound           = runlog.RepairBound
	RepairPhoneQueue      = runlog.RepairPhoneQueue
)

var (
	// RepairKinds lists every kind of repair.
	RepairKinds = runlog.RepairKinds
	// NewRuns returns the run store.
	NewRuns = runlog.NewRuns
	// WriteText renders a summary for a person.
	WriteText = runlog.WriteText
	// ErrNoRun reports a slot with no stored summary.
	ErrNoRun = runlog.ErrNoRun
)

// manualPrefix starts the slot of a run asked for by `enqueue reconcile`.
const manualPrefix = runlog.ManualPrefix
