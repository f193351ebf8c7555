package web

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/rdonboard/rdonboard/internal/phone"
)

// OwnerPath is the path under which the owner links live: one per phone.
const OwnerPath = "/p/"

// OwnerLinkLife is the longest an owner link is valid; it ends sooner when
// every member of its phone is terminal.
const OwnerLinkLife = 7 * 24 * time.Hour

// OwnerLink is a phone's owner link as the operator hands it out.
type OwnerLink struct {
	MobilePhone string    `json:"mobile_phone"`
	Accounts    int       `json:"accounts"`
	URL         string    `json:"url"`
	ExpiresAt   time.Time `json:"expires_at"`
}

// ForPhone returns the owner link of phone (normalized) under base, valid
// for OwnerLinkLife from now; accounts is what the link is for, shown to
// the operator. The phone travels sealed (AES-GCM) inside the link, so a
// URL that reaches a log or a browser history does not carry the number,
// and the whole is signed with HMAC-SHA256 under the link secret.
func (l *Links) ForPhone(phoneNumber string, accounts int, base string) (OwnerLink, error) {
	if l == nil {
		return OwnerLink{}, ErrLinksOff
	}
	expires := l.now().Add(OwnerLinkLife).Truncate(time.Second)
	seg, err := l.sealPhone(phoneNumber, expires)
	if err != nil {
		return OwnerLink{}, err
	}
	return OwnerLink{
		MobilePhone: phone.Mask(phoneNumber),
		Accounts:    accounts,
		URL:         strings.TrimRight(base, "/") + OwnerPath + seg,
		ExpiresAt:   expires.UTC(),
	}, nil
}

// sealPhone renders the link segment: expiry, sealed phone, and the MAC of
// both.
func (l *Links) sealPhone(phoneNumber string, expires time.Time) (string, error) {
	nonce := make([]byte, 12)
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	exp := strconv.FormatInt(expires.Unix(), 10)
	sealed := l.aead().Seal(nonce, nonce, []byte(phoneNumber), []byte(exp))
	body := exp + "." + base64.RawURLEncoding.EncodeToString(sealed)
	return body + "." + base64.RawURLEncoding.EncodeToString(l.derive("rdonboard owner link v1\x00"+body)), nil
}

// ReadPhone checks an owner link's segment and returns its phone, or
// ErrBadLink, ErrLinkExpired (with the phone), or ErrLinksOff on a nil
// *Links. Whether the phone's members are all finished is the caller's to
// check: that ends the link too.
func (l *Links) ReadPhone(segment string) (string, error) {
	if l == nil {
		return "", ErrLinksOff
	}
	cut := strings.LastIndexByte(segment, '.')
	if cut < 0 {
		return "", ErrBadLink
	}
	mac, err := base64.RawURLEncoding.Strict().DecodeString(segment[cut+1:])
	if err != nil || !hmac.Equal(mac, l.derive("rdonboard owner link v1\x00"+segment[:cut])) {
		return "", ErrBadLink
	}
	exp, sealed, _ := strings.Cut(segment[:cut], ".")
	unix, err1 := strconv.ParseInt(exp, 10, 64)
	raw, err2 := base64.RawURLEncoding.Strict().DecodeString(sealed)
	if err1 != nil || err2 != nil || len(raw) < 12 {
		return "", ErrBadLink
	}
	plain, err := l.aead().Open(nil, raw[:12], raw[12:], []byte(exp))
	if err != nil {
		return "", ErrBadLink
	}
	if !l.now().Before(time.Unix(unix, 0)) {
		return string(plain), ErrLinkExpired
	}
	return string(plain), nil
}

// FormToken is the code form's token for an owner link segment: only a
// page this service rendered for that link carries it.
func (l *Links) FormToken(segment string) string {
	return base64.RawURLEncoding.EncodeToString(l.derive("rdonboard owner form v1\x00" + segment)[:16])
}

// formTokenOK reports whether token is segment's form token.
func (l *Links) formTokenOK(segment, token string) bool {
	return hmac.Equal([]byte(token), []byte(l.FormToken(segment)))
}

// derive is HMAC-SHA256 of msg under the link secret; each use has its own
// label in msg, so no value serves two purposes.
func (l *Links) derive(msg string) []byte {
	h := hmac.New(sha256.New, l.key)
	h.Write([]byte(msg))
	return h.Sum(nil)
}

// aead seals phones, under a key derived from the link secret.
func (l *Links) aead() cipher.AEAD {
	block, err := aes.NewCipher(l.derive("rdonboard owner link seal v1"))
	if err != nil {
		panic(err) // a 32-byte key always makes a cipher
	}
	g, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return g
}

// ErrLinkFinished reports an owner link whose phone's members are all
// terminal: nothing is left to hand in.
var ErrLinkFinished = errors.New("link is finished: every member of its phone is terminal")
