package cloud

import (
	"net/url"
	"regexp"
	"strings"

	"github.com/rdonboard/rdonboard/internal/phone"
)

var (
	// secretParam is a sensitive request parameter and its value, as it
	// appears in a URL (name=value), in the cloud's string to sign
	// (name%3Dvalue, values encoded twice) or in JSON and text
	// ("name":"value", name: value). The value ends at the next parameter
	// (& or %26) or at a delimiter.
	secretParam = regexp.MustCompile(`(?i)(AccessKeyId|AccessKeySecret|SecurityToken|BearerToken|Signature|SecureMobilePhone|VerificationCode)` +
		`("?\s*[:=]\s*"?|%3D|%253D)` +
		`((?:[^&\s"',;<>%\\]|%(?:[013-9A-Fa-f][0-9A-Fa-f]|2[0-57-9A-Fa-f]))+)`)
	// codeAfterName is a number shortly after the word VerificationCode,
	// in whatever words or encoding ("VerificationCode is 123456").
	codeAfterName = regexp.MustCompile(`(?i)(VerificationCode(?:%253D|%3D|[^0-9&%]){0,12}?)\d+`)
	// spacedPhone is a mainland number written in groups (139 0000 1234).
	spacedPhone = regexp.MustCompile(`(^|[^0-9])(1[0-9]{2})[ -][0-9]{4}[ -]([0-9]{4})($|[^0-9])`)
	// accessKeyID is the shape of an Alibaba Cloud AccessKey ID.
	accessKeyID = regexp.MustCompile(`LTAI[0-9A-Za-z]{8,}`)
)

// Redact removes secrets from s: the values of the AccessKeyId,
// AccessKeySecret, SecurityToken, BearerToken, Signature and
// VerificationCode parameters (in a URL, a string to sign, JSON or text),
// a code following the word VerificationCode, anything shaped like an
// AccessKey ID, and the middle digits of anything shaped like a mainland
// mobile number (86-1xxxxxxxxxx, +861…, 1xxxxxxxxxx, URL-encoded or in
// groups), which becomes 139****1234 as in phone.Mask.
func Redact(s string) string {
	s = secretParam.ReplaceAllStringFunc(s, redactParam)
	s = codeAfterName.ReplaceAllString(s, "${1}***")
	s = accessKeyID.ReplaceAllString(s, "LTAI***")
	s = spacedPhone.ReplaceAllString(s, "${1}${2} **** ${3}${4}")
	return maskPhones(s)
}

// redactParam replaces the value of one sensitive parameter; a phone keeps
// its masked form so the message still says which number was meant.
func redactParam(m string) string {
	sub := secretParam.FindStringSubmatch(m)
	name, sep, value := sub[1], sub[2], sub[3]
	if strings.EqualFold(name, "SecureMobilePhone") {
		return name + sep + maskedValue(value)
	}
	return name + sep + "***"
}

// maskedValue masks a phone parameter's value, decoding it first (it may be
// encoded once or twice).
func maskedValue(v string) string {
	for range 2 {
		if d, err := url.QueryUnescape(v); err == nil {
			v = d
		}
	}
	if n, err := phone.Normalize(v); err == nil {
		return phone.Mask(n)
	}
	return phone.Mask(v)
}

// maskPhones masks every run of digits shaped like a mainland mobile
// number. URL escapes (%2B, %20, %252B) separate runs, so an encoded
// +86 or space does not hide the number behind it.
func maskPhones(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		if n := escapeLen(s, i); n > 0 {
			b.WriteString(s[i : i+n])
			i += n
			continue
		}
		j := i
		for j < len(s) && isDigit(s[j]) {
			j++
		}
		if j > i {
			b.WriteString(maskRun(s[i:j]))
			i = j
			continue
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String()
}

// escapeLen is the length of the URL escape at s[i] (%XX, or %25XX encoded
// twice), 0 if there is none.
func escapeLen(s string, i int) int {
	if i+2 >= len(s) || s[i] != '%' || !isHex(s[i+1]) || !isHex(s[i+2]) {
		return 0
	}
	if s[i+1:i+3] == "25" && i+4 < len(s) && isHex(s[i+3]) && isHex(s[i+4]) {
		return 5
	}
	return 3
}

// maskRun masks a run of digits that is a mainland mobile number, bare
// (1xxxxxxxxxx), with 86 or with 0086 before it.
func maskRun(d string) string {
	for _, prefix := range []string{"", "86", "0086"} {
		if len(d) == len(prefix)+11 && strings.HasPrefix(d, prefix+"1") {
			p := len(prefix)
			return d[:p+3] + "****" + d[p+7:]
		}
	}
	return d
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isHex(c byte) bool {
	return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}
