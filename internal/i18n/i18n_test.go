package i18n

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"
)

func TestNegotiate(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		header   string
		fallback Lang
		want     Lang
	}{
		{"", Chinese, Chinese},
		{"", English, English},
		{"en-US,en;q=0.9", Chinese, English},
		{"en-GB", Chinese, English},
		{"zh-CN,zh;q=0.9,en;q=0.8", English, Chinese},
		{"zh", English, Chinese},
		{"zh-Hans", English, Chinese},
		{"fr-FR,de;q=0.5", English, English},
		{"fr-FR,de;q=0.5", Chinese, Chinese},
		{"de;q=0.9,en;q=0.8", Chinese, English},
		{"not a header;;;", English, English},
	} {
		if got := Negotiate(c.header, c.fallback); got != c.want {
			t.Errorf("Negotiate(%q, %s) = %s, want %s", c.header, c.fallback, got, c.want)
		}
	}
}

// TestTimeInTheZone: an owner in Shanghai reads Shanghai time, in their
// language, with the zone named.
func TestTimeInTheZone(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 3, 1, 8, 5, 0, 0, time.UTC)
	sh, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	for lang, want := range map[Lang]string{
		Chinese: "2026年3月1日 16:05:00（Asia/Shanghai）",
		English: "1 Mar 2026 16:05:00 (Asia/Shanghai)",
	} {
		if got := New(lang, sh).Time(at); got != want {
			t.Errorf("%s time = %q, want %q", lang, got, want)
		}
	}
}

var verb = regexp.MustCompile(`%(\[\d+\])?[a-z]`)

// TestCatalogueComplete: every message has both languages, the Chinese
// one is Chinese, and both take the same arguments.
func TestCatalogueComplete(t *testing.T) {
	t.Parallel()
	for key, m := range catalogue {
		if m.zh == "" || m.en == "" {
			t.Errorf("%s: a language is missing: %+v", key, m)
		}
		if key != Brand && !strings.ContainsFunc(m.zh, func(r rune) bool { return unicode.Is(unicode.Han, r) }) {
			t.Errorf("%s: zh %q has no Chinese", key, m.zh)
		}
		zh, en := verbs(m.zh), verbs(m.en)
		if !slices.Equal(zh, en) {
			t.Errorf("%s: verbs differ: zh %v, en %v", key, zh, en)
		}
	}
	if got := New(English, nil).T(Progress, 2, 3); got != "2 of 3 accounts bound" {
		t.Errorf("en progress = %q", got)
	}
	if got := New(Chinese, nil).T(Progress, 2, 3); got != "已绑定 2/3 个账号" {
		t.Errorf("zh progress = %q", got)
	}
}

// verbs lists the arguments a format takes, by position and kind.
func verbs(format string) []string {
	var out []string
	next := 1
	for _, v := range verb.FindAllStringSubmatch(format, -1) {
		pos := next
		if v[1] != "" {
			pos = int(v[1][1] - '0')
		}
		next = pos + 1
		out = append(out, string(rune('0'+pos))+v[0][len(v[0])-1:])
	}
	slices.Sort(out)
	return out
}
