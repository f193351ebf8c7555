package phone

import (
	"regexp"
	"slices"

	"github.com/nyaruka/phonenumbers"
)

// mainland decides, as phonenumbers.GetNumberType does, whether an 11-digit
// national number of China is a mobile number, from the library's own
// metadata compiled once. The library's call builds and looks up its
// patterns on every number (some 5 µs and 23 allocations); a roster of a
// million rows asks a million times. TestMainlandAgreesWithTheLibrary
// holds the two together.
var mainland = newTypeRule(regionMetadata("CN"))

// regionMetadata returns the library's metadata of a region.
func regionMetadata(region string) *phonenumbers.PhoneMetadata {
	coll, err := phonenumbers.MetadataCollection()
	if err != nil {
		panic("phone: phonenumbers metadata: " + err.Error())
	}
	for _, m := range coll.GetMetadata() {
		if m.GetId() == region {
			return m
		}
	}
	panic("phone: phonenumbers has no metadata for " + region)
}

// desc is one number type's rule: its possible lengths and pattern.
type desc struct {
	lengths []int32
	pattern *regexp.Regexp
}

// newDesc compiles a description of the library; a missing one matches
// nothing, as in the library.
func newDesc(d *phonenumbers.PhoneNumberDesc) desc {
	return desc{lengths: d.GetPossibleLength(),
		pattern: regexp.MustCompile("^(?:" + d.GetNationalNumberPattern() + ")$")}
}

// matches is the library's isNumberMatchingDesc.
func (d desc) matches(national string) bool {
	if len(d.lengths) > 0 && !slices.Contains(d.lengths, int32(len(national))) {
		return false
	}
	return d.pattern.MatchString(national)
}

// typeRule is the library's getNumberTypeHelper for one region, reduced to
// the question asked here: is the number a mobile number?
type typeRule struct {
	general, fixed, mobile desc
	// others are the types that win over fixed line and mobile, in the
	// library's order: premium rate, toll free, shared cost, VoIP,
	// personal, pager, UAN, voicemail.
	others []desc
	same   bool // the region's fixed and mobile numbers look alike
}

func newTypeRule(m *phonenumbers.PhoneMetadata) typeRule {
	r := typeRule{general: newDesc(m.GetGeneralDesc()), fixed: newDesc(m.GetFixedLine()),
		mobile: newDesc(m.GetMobile()), same: m.GetSameMobileAndFixedLinePattern()}
	for _, d := range []*phonenumbers.PhoneNumberDesc{m.GetPremiumRate(), m.GetTollFree(), m.GetSharedCost(),
		m.GetVoip(), m.GetPersonalNumber(), m.GetPager(), m.GetUan(), m.GetVoicemail()} {
		r.others = append(r.others, newDesc(d))
	}
	return r
}

// isMobile reports whether the library would type national MOBILE or
// FIXED_LINE_OR_MOBILE.
func (r typeRule) isMobile(national string) bool {
	if !r.general.matches(national) {
		return false
	}
	for _, d := range r.others {
		if d.matches(national) {
			return false
		}
	}
	if r.fixed.matches(national) {
		return r.same || r.mobile.matches(national)
	}
	return !r.same && r.mobile.matches(national)
}
