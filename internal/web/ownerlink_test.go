package web_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rdonboard/rdonboard/internal/web"
)

// TestOwnerLinkNamesOnePhone: an owner link reads back as its phone for 7
// days and not after; it does not carry the number; any change, or another
// secret, makes it invalid.
func TestOwnerLinkNamesOnePhone(t *testing.T) {
	t.Parallel()
	const ph = "86-13900001234"
	links := web.NewLinks(linkSecret, clock(t0))
	l, err := links.ForPhone(ph, 3, "https://onboard.example/")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(l.URL, "https://onboard.example/p/") || l.MobilePhone != "86-139****1234" || l.Accounts != 3 ||
		!l.ExpiresAt.Equal(t0.Add(7*24*time.Hour)) {
		t.Errorf("owner link %+v: want URL under https://onboard.example/p/, masked phone, 3 accounts, 7 days", l)
	}
	if strings.Contains(l.URL, "13900001234") || strings.Contains(l.URL, "1234") {
		t.Errorf("owner link %q carries the phone number", l.URL)
	}
	seg := segment(t, l.URL, web.OwnerPath)
	if got, err := links.ReadPhone(seg); err != nil || got != ph {
		t.Fatalf("ReadPhone = %q, %v; want %s", got, err, ph)
	}
	exp, rest, _ := strings.Cut(seg, ".")
	read := func(l *web.Links, s string) error { _, err := l.ReadPhone(s); return err }
	checkSealed(t, read, seg, l.ExpiresAt, map[string]string{ // l.ExpiresAt: after 7 days
		"later expiry": "9999999999." + rest,
		"no MAC":       exp + "." + strings.Split(rest, ".")[0],
	})
	var off *web.Links
	if _, err := off.ForPhone(ph, 1, "http://x"); !errors.Is(err, web.ErrLinksOff) {
		t.Errorf("links off: %v, want ErrLinksOff", err)
	}
	// A member link is no owner link, and the other way round.
	m, _ := links.For(waitingMember("1386606283481234"), "http://x")
	if _, err := links.ReadPhone(segment(t, m.URL, web.LinkPath)); !errors.Is(err, web.ErrBadLink) {
		t.Errorf("member link read as an owner link: %v", err)
	}
	if _, err := links.Read(seg); !errors.Is(err, web.ErrBadLink) {
		t.Errorf("owner link read as a member link: %v", err)
	}
}
