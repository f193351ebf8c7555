package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"go.uber.org/zap"

	"github.com/rdonboard/rdonboard/internal/i18n"
	"github.com/rdonboard/rdonboard/internal/member"
)

// The per-member links (LinkPath) came before the owner links: each names
// one member and one send. They keep working by leading to the owner page
// of the member's phone, where every code of that phone is handed in, in
// the owner's language. A link still has to be good: signed, not past its
// code's expiry while its member waits, and for the member's current flow
// (a flow started again may be on another phone, whose page the holder of
// the old link must not see).

// codePage answers GET of a per-member link with a redirect to the owner
// page of its member's phone.
func (s *Site) codePage(w http.ResponseWriter, r *http.Request) {
	lz := s.localizer(r)
	m, err := s.linkMember(r)
	var owner OwnerLink
	if err == nil {
		owner, err = s.p.Links.ForPhone(m.Phone, 0, "")
	}
	if err != nil {
		s.linkFailed(w, lz, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	http.Redirect(w, r, owner.URL, http.StatusSeeOther)
}

// submitCode takes a code posted to a per-member link (a page opened
// before the owner pages) as the owner page does: for the phone's member
// whose code is live. It then sends the browser to the owner page to
// watch the code being checked; a refused code shows that page with why.
func (s *Site) submitCode(w http.ResponseWriter, r *http.Request) {
	lz := s.localizer(r)
	m, err := s.linkMember(r)
	var owner OwnerLink
	var sum member.PhoneSummary
	if err == nil {
		owner, err = s.p.Links.ForPhone(m.Phone, 0, "")
	}
	if err == nil {
		sum, err = s.p.Store.PhoneSummary(r.Context(), m.Phone)
	}
	if err = unlessFinished(sum, err); err != nil {
		s.linkFailed(w, lz, err)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, formLimit)
	s.takeCode(w, r, lz, sum, owner.URL, strings.TrimPrefix(owner.URL, OwnerPath))
}

// linkMember reads the per-member link of r and the member it names. An
// expired link still leads to a member that finished; a link from an
// earlier flow of the member (started again, perhaps on another phone)
// leads nowhere.
func (s *Site) linkMember(r *http.Request) (member.Member, error) {
	c, err := s.p.Links.Read(r.PathValue("link"))
	if err != nil && !errors.Is(err, ErrLinkExpired) {
		return member.Member{}, err
	}
	expired := err != nil
	m, err := s.p.Store.Get(r.Context(), c.AccountID)
	switch {
	case errors.Is(err, member.ErrNotFound):
		return m, ErrBadLink
	case err != nil:
		return m, err
	case m.Generation != c.Step.Generation:
		return m, ErrLinkUsed
	case expired && !m.State.Terminal():
		return m, ErrLinkExpired
	}
	return m, nil
}

// linkFailed answers a per-member link that cannot be used, in the words
// of the owner page.
func (s *Site) linkFailed(w http.ResponseWriter, lz i18n.Localizer, err error) {
	if errors.Is(err, ErrLinkUsed) {
		v := ownerView{L: lz, Tone: "bad", Heading: lz.T(i18n.LinkUsed), Message: lz.T(i18n.LinkUsedHint)}
		s.render(w, http.StatusGone, "owner", v)
		return
	}
	s.ownerFailed(w, lz, err)
}

// memberLink answers GET /v1/members/{account_id}/link: the member's
// self-service link while it waits for a code; 404 unknown, 409 not
// waiting, 503 links off.
func (s *Site) memberLink(w http.ResponseWriter, r *http.Request) {
	m, err := s.p.Store.Get(r.Context(), r.PathValue("account_id"))
	var l Link
	if err == nil {
		l, err = s.p.Links.For(m, s.linkBase(r))
	}
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, l)
	case errors.Is(err, member.ErrNotFound):
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "unknown member"})
	case errors.Is(err, member.ErrNotWaiting):
		writeJSON(w, http.StatusConflict, map[string]string{"error": "member is not waiting for a code", "state": string(m.State)})
	case errors.Is(err, ErrLinksOff):
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": err.Error()})
	default:
		s.p.Logger.Error("member link", zap.Error(err))
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "store unavailable; try again"})
	}
}

// linkBase is the configured base of links: never the request's Host,
// which any client can name.
func (s *Site) linkBase(*http.Request) string { return s.p.PublicURL }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
