//go:build race

package phone

// The race detector's instrumentation allocates on its own; allocation
// counts are checked only in builds without it.
const raceEnabled = true
