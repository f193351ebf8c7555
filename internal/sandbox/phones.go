package sandbox

import (
	"net/http"
	"time"
)

// PhoneSMS is one SMS as the phone's owner sees it: the code and when it
// came, not the account it is for (the real SMS does not say).
type PhoneSMS struct {
	Code   string    `json:"code"`
	SentAt time.Time `json:"sent_at"`
}

// PhoneView returns the SMS sent to phone (any spelling), oldest first, as
// its owner reads them.
func (s *Server) PhoneView(phone string) []PhoneSMS {
	sms := s.SMS(phone)
	out := make([]PhoneSMS, len(sms))
	for i, m := range sms {
		out[i] = PhoneSMS{Code: m.Code, SentAt: m.SentAt}
	}
	return out
}

// servePhoneSMS answers GET /sandbox/phones/{phone}/sms: the phone's view,
// newest last.
func (s *Server) servePhoneSMS(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.PhoneView(r.PathValue("phone")))
}

// notePhoneSend counts what a send to m's phone means for its owner, who
// cannot tell the accounts' codes apart: an overlap when the phone's
// previous SMS was another account's code, still unused and unexpired (the
// owner holds two live codes), and the shortest gap between two SMS to one
// phone (MinPhoneGapMS; 0 until a phone got two). The caller holds s.mu,
// before m is recorded.
func (s *Server) notePhoneSend(m SMS) {
	for i := len(s.sms) - 1; i >= 0; i-- {
		prev := s.sms[i]
		if prev.Phone != m.Phone {
			continue
		}
		gap := m.SentAt.Sub(prev.SentAt).Milliseconds()
		if s.stats.MinPhoneGapMS == 0 || gap < s.stats.MinPhoneGapMS {
			s.stats.MinPhoneGapMS = max(gap, 1)
		}
		if prev.AccountID != m.AccountID && s.stillLive(prev, m.SentAt) {
			s.stats.PhoneOverlaps++
		}
		return
	}
}

// stillLive reports whether the code of sms is its account's latest, not
// used by a bind and not expired at t.
func (s *Server) stillLive(sms SMS, t time.Time) bool {
	a := s.accounts[sms.AccountID]
	if a == nil || a.code == nil || a.code.code != sms.Code {
		return false
	}
	return !a.code.used && t.Before(a.code.expires)
}
