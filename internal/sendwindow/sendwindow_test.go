package sendwindow

import (
	"testing"
	"time"
)

func TestWindow(t *testing.T) {
	sh, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	day := func(h, m int) time.Time { return time.Date(2026, 12, 3, h, m, 0, 0, sh) }
	cases := []struct {
		spec     string
		at       time.Time
		open     bool
		nextOpen time.Time
	}{
		{"09:00-21:00", day(3, 0), false, day(9, 0)},
		{"09:00-21:00", day(9, 0), true, day(9, 0)},
		{"09:00-21:00", day(20, 59), true, day(20, 59)},
		{"09:00-21:00", day(21, 0), false, day(9, 0).AddDate(0, 0, 1)},
		{"21:00-07:00", day(23, 30), true, day(23, 30)},
		{"21:00-07:00", day(6, 59), true, day(6, 59)},
		{"21:00-07:00", day(12, 0), false, day(21, 0)},
		{"", day(3, 0), true, day(3, 0)},
	}
	for _, c := range cases {
		w, err := Parse(c.spec, sh)
		if err != nil {
			t.Fatalf("Parse(%q): %v", c.spec, err)
		}
		if got := w.Open(c.at); got != c.open {
			t.Errorf("%s at %s: open %v, want %v", c.spec, c.at.Format("15:04"), got, c.open)
		}
		// The same instant seen from UTC gives the same answer.
		if got := w.NextOpen(c.at.UTC()); !got.Equal(c.nextOpen) {
			t.Errorf("%s at %s: next open %s, want %s", c.spec, c.at.Format("15:04"), got.In(sh), c.nextOpen)
		}
	}
}

func TestParseRefusesNonsense(t *testing.T) {
	for _, s := range []string{"9-21", "09:00", "09:00-09:00", "25:00-26:00", "09:60-10:00", "a:b-c:d"} {
		if _, err := Parse(s, time.UTC); err == nil {
			t.Errorf("Parse(%q) accepted", s)
		}
	}
}
