// Package sendwindow owns the local hours in which SMS may be sent
// (ONBOARD_SEND_WINDOW, in ONBOARD_TIMEZONE): parsing "09:00-21:00" and
// telling, for any instant, whether the window is open and when it next
// opens. A window may wrap past midnight ("21:00-07:00").
package sendwindow

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Window is a daily span of local time. The zero Window is always open.
type Window struct {
	// Start and End are offsets from local midnight; Start == End never
	// happens in a parsed window.
	Start, End time.Duration
	loc        *time.Location
	set        bool
}

// Always is the window of a deployment without ONBOARD_SEND_WINDOW.
var Always = Window{}

// Parse reads "HH:MM-HH:MM" in loc. An empty string is Always.
func Parse(s string, loc *time.Location) (Window, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Always, nil
	}
	from, to, ok := strings.Cut(s, "-")
	if !ok {
		return Window{}, fmt.Errorf("send window %q: want HH:MM-HH:MM", s)
	}
	start, err := clock(from)
	if err != nil {
		return Window{}, fmt.Errorf("send window %q: start: %w", s, err)
	}
	end, err := clock(to)
	if err != nil {
		return Window{}, fmt.Errorf("send window %q: end: %w", s, err)
	}
	if start == end {
		return Window{}, fmt.Errorf("send window %q: start and end are the same time", s)
	}
	if loc == nil {
		loc = time.UTC
	}
	return Window{Start: start, End: end, loc: loc, set: true}, nil
}

// clock parses "HH:MM" (00:00 to 24:00) into an offset from midnight.
func clock(s string) (time.Duration, error) {
	h, m, ok := strings.Cut(strings.TrimSpace(s), ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || len(m) != 2 || hh < 0 || mm < 0 || mm > 59 || hh > 24 || (hh == 24 && mm != 0) {
		return 0, fmt.Errorf("%q is not a time of day HH:MM", s)
	}
	return time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute, nil
}

// IsSet reports whether the window restricts anything.
func (w Window) IsSet() bool { return w.set }

// String renders the window as it was given, or "any time".
func (w Window) String() string {
	if !w.set {
		return "any time"
	}
	f := func(d time.Duration) string { return fmt.Sprintf("%02d:%02d", int(d.Hours()), int(d.Minutes())%60) }
	return f(w.Start) + "-" + f(w.End)
}

// Open reports whether SMS may be sent at t.
func (w Window) Open(t time.Time) bool {
	if !w.set {
		return true
	}
	off := sinceMidnight(t.In(w.loc))
	if w.Start < w.End {
		return off >= w.Start && off < w.End
	}
	return off >= w.Start || off < w.End
}

// NextOpen returns t if the window is open at t, else the instant it next
// opens.
func (w Window) NextOpen(t time.Time) time.Time {
	if w.Open(t) {
		return t
	}
	local := t.In(w.loc)
	y, mo, d := local.Date()
	for day := 0; day <= 2; day++ {
		// Build the opening from the calendar, not by adding hours, so
		// that a daylight-saving change does not shift it.
		h, m := int(w.Start.Hours()), int(w.Start.Minutes())%60
		at := time.Date(y, mo, d+day, h, m, 0, 0, w.loc)
		if at.After(t) {
			return at
		}
	}
	return t.Add(24 * time.Hour)
}

func sinceMidnight(t time.Time) time.Duration {
	h, m, s := t.Clock()
	return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(s)*time.Second +
		time.Duration(t.Nanosecond())
}
