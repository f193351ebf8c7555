// Package i18n holds every word a phone's owner reads, in Chinese (zh-CN)
// and English, and the way times are shown to them: in the configured zone
// (ONBOARD_TIMEZONE). The owner page and the messages to owners both speak
// through a Localizer, so the two always say the same thing.
package i18n

import (
	"fmt"
	"time"

	"golang.org/x/text/language"
)

// Lang is a language owners are spoken to in.
type Lang string

// The languages of the catalogue; ONBOARD_LOCALE names one of them.
const (
	Chinese Lang = "zh-CN"
	English Lang = "en"
)

// supported is the matcher's list, in the order of Langs.
var (
	langs   = []Lang{Chinese, English}
	matcher = language.NewMatcher([]language.Tag{language.Make(string(Chinese)), language.English})
)

// Parse returns the language locale names (ONBOARD_LOCALE), or Chinese
// when it names neither.
func Parse(locale string) Lang {
	if Lang(locale) == English {
		return English
	}
	return Chinese
}

// Negotiate picks the language an Accept-Language header asks for, with
// the matching rules of golang.org/x/text (so zh, zh-Hans, zh-TW read as
// Chinese and en-GB as English); a header that asks for neither, or none,
// gets fallback.
func Negotiate(acceptLanguage string, fallback Lang) Lang {
	tags, _, err := language.ParseAcceptLanguage(acceptLanguage)
	if err != nil || len(tags) == 0 {
		return fallback
	}
	_, i, confidence := matcher.Match(tags...)
	if confidence == language.No {
		return fallback
	}
	return langs[i]
}

// Localizer speaks one language and shows times in one zone.
type Localizer struct {
	lang Lang
	loc  *time.Location
}

// New returns the localizer of lang with times in loc (UTC when nil).
func New(lang Lang, loc *time.Location) Localizer {
	if loc == nil {
		loc = time.UTC
	}
	return Localizer{lang: Parse(string(lang)), loc: loc}
}

// Lang is the localizer's language, for the page's lang attribute.
func (l Localizer) Lang() Lang { return l.lang }

// T returns message key in the localizer's language, formatted with args
// as fmt.Sprintf does; an unknown key comes back as itself, which the
// catalogue's test keeps from happening.
func (l Localizer) T(key Key, args ...any) string {
	m, ok := catalogue[key]
	if !ok {
		return string(key)
	}
	text := m.en
	if l.lang == Chinese {
		text = m.zh
	}
	if len(args) == 0 {
		return text
	}
	return fmt.Sprintf(text, args...)
}

// Time shows t in the localizer's zone and language, with the zone's name
// so that no owner has to guess it.
func (l Localizer) Time(t time.Time) string {
	t = t.In(l.loc)
	if l.lang == Chinese {
		return t.Format("2006年1月2日 15:04:05") + "（" + l.loc.String() + "）"
	}
	return t.Format("2 Jan 2006 15:04:05") + " (" + l.loc.String() + ")"
}
