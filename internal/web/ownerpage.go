package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/rdonboard/rdonboard/internal/i18n"
	"github.com/rdonboard/rdonboard/internal/intake"
	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/internal/phone"
)

// Reloads of the owner page while it waits: quickly while a code is
// checked, at most a minute apart while the next SMS is due.
const (
	waitRefreshMin = 2
	waitRefreshMax = 60
)

// ownerView is what the owner page shows.
type ownerView struct {
	L i18n.Localizer
	// Heading, Message and Extra say where things stand; Tone is ok,
	// warn or bad.
	Heading, Message, Extra, Tone string
	// Phone is the masked phone; Progress its accounts bound of all.
	Phone, Progress string
	Bound, Accounts int
	// Account and AccountID name the member whose code is live.
	Account, AccountID string
	// Form shows the code form, posting Token back to Action.
	Form          bool
	Action, Token string
	Expires       string
	Refresh       int
}

// localizer is the language r's browser asks for, else ONBOARD_LOCALE.
func (s *Site) localizer(r *http.Request) i18n.Localizer {
	return i18n.New(i18n.Negotiate(r.Header.Get("Accept-Language"), s.p.Locale), s.p.Zone)
}

// ownerPage shows a phone's owner where its accounts stand and, while a
// code is live, the form for it.
func (s *Site) ownerPage(w http.ResponseWriter, r *http.Request) {
	lz := s.localizer(r)
	sum, err := s.ownerPhone(r)
	if err != nil {
		s.ownerFailed(w, lz, err)
		return
	}
	v, err := s.phoneView(r.Context(), lz, sum, pendingOf(r))
	if err != nil {
		s.ownerFailed(w, lz, err)
		return
	}
	v.Action, v.Token = r.URL.Path, s.p.Links.FormToken(r.PathValue("link"))
	s.render(w, http.StatusOK, "owner", v)
}

// submitOwnerCode hands the form's code in for the phone's live member
// and sends the browser back to the page to watch it being checked.
func (s *Site) submitOwnerCode(w http.ResponseWriter, r *http.Request) {
	lz := s.localizer(r)
	sum, err := s.ownerPhone(r)
	if err = unlessFinished(sum, err); err != nil {
		s.ownerFailed(w, lz, err)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, formLimit)
	if !s.formFromPage(r) {
		s.ownerFailed(w, lz, errForeignForm)
		return
	}
	s.takeCode(w, r, lz, sum, r.URL.Path, r.PathValue("link"))
}

// unlessFinished is err, or ErrLinkFinished once every account of the
// phone of sum is done: its page takes no code then.
func unlessFinished(sum member.PhoneSummary, err error) error {
	if err == nil && sum.Done() {
		return ErrLinkFinished
	}
	return err
}

// takeCode hands the form's code in for the live member of the phone of
// sum and sends the browser to its owner page, page, to watch the code
// being checked; a refused code shows that page with why, its form posting
// back to page (the owner link whose segment is seg).
func (s *Site) takeCode(w http.ResponseWriter, r *http.Request, lz i18n.Localizer, sum member.PhoneSummary, page, seg string) {
	code := strings.Join(strings.Fields(r.PostFormValue("code")), "")
	m, err := s.submitByPhone(r.Context(), sum.Phone, code)
	if err == nil {
		q := url.Values{"sent": {m.AccountID + "." + strconv.Itoa(m.CodeAttempts)}}
		http.Redirect(w, r, page+"?"+q.Encode(), http.StatusSeeOther)
		return
	}
	s.ownerRefused(w, r, lz, sum, err, page, seg)
}

// submitByPhone hands code in for the member of phone whose code is live.
func (s *Site) submitByPhone(ctx context.Context, ph, code string) (member.Member, error) {
	m, ok, err := s.p.Store.LiveMember(ctx, ph)
	if err != nil {
		return m, err
	}
	if !ok {
		return m, member.ErrNotWaiting
	}
	_, err = s.p.Intake.Submit(ctx, m.AccountID, code)
	return m, err
}

// ownerRefused shows the page again with why the intake refused a code;
// its form posts to action, the owner link whose segment is seg.
func (s *Site) ownerRefused(w http.ResponseWriter, r *http.Request, lz i18n.Localizer, sum member.PhoneSummary, err error, action, seg string) {
	status, tone, heading, hint := ownerSubmitFailure(err)
	if status >= 500 {
		s.p.Logger.Error("owner page code intake", zap.String("phone", phone.Mask(sum.Phone)), zap.Error(err))
	}
	v, verr := s.phoneView(r.Context(), lz, sum, pending{})
	if verr != nil {
		s.ownerFailed(w, lz, verr)
		return
	}
	v.Tone, v.Heading, v.Message, v.Extra = tone, lz.T(heading), lz.T(hint), ""
	v.Form = v.Form && status != http.StatusTooManyRequests
	v.Action, v.Token, v.Refresh = action, s.p.Links.FormToken(seg), 0
	s.render(w, status, "owner", v)
}

// ownerSubmitFailure is the answer to a code the intake refused.
func ownerSubmitFailure(err error) (status int, tone string, heading, hint i18n.Key) {
	switch {
	case errors.Is(err, intake.ErrMalformed):
		return http.StatusBadRequest, "warn", i18n.Malformed, i18n.MalformedHint
	case errors.Is(err, member.ErrTooManyAttempts):
		return http.StatusTooManyRequests, "bad", i18n.TooMany, i18n.TooManyHint
	case errors.Is(err, member.ErrNotWaiting), errors.Is(err, member.ErrNotFound):
		return http.StatusConflict, "warn", i18n.NotWaiting, i18n.NotWaitingHint
	}
	return http.StatusServiceUnavailable, "bad", i18n.TryAgain, i18n.TryAgainHint
}

// ownerPhone reads r's owner link and sums up its phone.
func (s *Site) ownerPhone(r *http.Request) (member.PhoneSummary, error) {
	ph, err := s.p.Links.ReadPhone(r.PathValue("link"))
	if err != nil {
		return member.PhoneSummary{}, err
	}
	sum, err := s.p.Store.PhoneSummary(r.Context(), ph)
	if err == nil && sum.Accounts == 0 {
		err = ErrBadLink // its members moved to other phones
	}
	return sum, err
}

// pending is the code this browser just handed in: for which member, and
// how many wrong codes it had then. While that member waits with the same
// count, the code is still on its way to the cloud.
type pending struct {
	account string
	tried   int
}

// pendingOf reads the mark the redirect after a code left in the query.
func pendingOf(r *http.Request) pending {
	id, n, ok := strings.Cut(r.URL.Query().Get("sent"), ".")
	tried, err := strconv.Atoi(n)
	if !ok || err != nil {
		return pending{}
	}
	return pending{account: id, tried: tried}
}

// phoneView is the page of a phone: progress, and the live member's form,
// or when the next SMS comes, or that all is done.
func (s *Site) phoneView(ctx context.Context, lz i18n.Localizer, sum member.PhoneSummary, p pending) (ownerView, error) {
	v := ownerView{L: lz, Phone: phone.Mask(sum.Phone), Bound: sum.Bound, Accounts: sum.Accounts,
		Progress: lz.T(i18n.Progress, sum.Bound, sum.Accounts)}
	if sum.Done() {
		v.Tone, v.Heading, v.Message = "ok", lz.T(i18n.AllDone), lz.T(i18n.AllDoneHint)
		if failed := sum.Terminal - sum.Bound; failed > 0 {
			v.Tone, v.Extra = "warn", lz.T(i18n.SomeFailed, failed)
		}
		return v, nil
	}
	m, ok, err := s.p.Store.LiveMember(ctx, sum.Phone)
	if err != nil {
		return v, err
	}
	if !ok {
		s.waitingView(&v, sum.NextSend)
		return v, nil
	}
	s.liveView(&v, m, p)
	return v, nil
}

// liveView fills v for member m, whose code is live or on its way.
func (s *Site) liveView(v *ownerView, m member.Member, p pending) {
	lz := v.L
	v.Account, v.AccountID = m.DisplayName, maskAccount(m.AccountID)
	if m.State == member.CodeSubmitted || (p.account == m.AccountID && m.CodeAttempts <= p.tried) {
		v.Tone, v.Heading, v.Message, v.Refresh = "ok", lz.T(i18n.Checking), lz.T(i18n.CheckingHint), waitRefreshMin
		return
	}
	v.Form, v.Heading, v.Message = true, lz.T(i18n.EnterCode), lz.T(i18n.EnterCodeHint)
	if m.State == member.Pending {
		// Its SMS is on the way and the send not yet recorded: the code
		// is taken, its expiry not known yet.
		return
	}
	v.Expires = lz.T(i18n.ValidUntil, lz.Time(m.CodeExpiresAt))
	if m.CodeAttempts > 0 {
		v.Tone, v.Message = "warn", lz.T(i18n.WrongCode)
		v.Extra = lz.T(i18n.Tried, m.CodeAttempts, s.p.MaxCodeAttempts)
	}
}

// waitingView fills v for a phone whose next member waits for its SMS.
func (s *Site) waitingView(v *ownerView, next time.Time) {
	lz := v.L
	v.Heading, v.Message, v.Refresh = lz.T(i18n.Waiting), lz.T(i18n.NextSMSSoon), 5
	if wait := next.Sub(s.p.Now()); !next.IsZero() && wait > time.Second {
		v.Message = lz.T(i18n.NextSMSAt, lz.Time(next))
		v.Refresh = min(max(int(wait.Seconds())+1, waitRefreshMin), waitRefreshMax)
	}
}

// maskAccount shows an account ID's first and last four digits.
func maskAccount(id string) string {
	if len(id) <= 8 {
		return strings.Repeat("*", len(id))
	}
	return id[:4] + strings.Repeat("*", len(id)-8) + id[len(id)-4:]
}

// errForeignForm reports a code form that did not come from the page.
var errForeignForm = errors.New("code form from another page")

// formFromPage reports whether the code form of r came from the owner page
// this service rendered for r's link: no foreign Origin or Sec-Fetch-Site,
// and the link's form token. (The pages send no Referer, under which
// browsers send Origin: null on same-origin posts, so a null Origin stands
// on the token alone.)
func (s *Site) formFromPage(r *http.Request) bool {
	if o := r.Header.Get("Origin"); o != "" && o != "null" && o != originOf(s.p.PublicURL) {
		return false
	}
	if f := r.Header.Get("Sec-Fetch-Site"); f != "" && f != "same-origin" && f != "none" {
		return false
	}
	return s.p.Links.formTokenOK(r.PathValue("link"), r.PostFormValue("t"))
}

// originOf is the origin (scheme://host) of a base URL.
func originOf(base string) string {
	u, err := url.Parse(base)
	if err != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// ownerFailed answers an owner link that cannot be used.
func (s *Site) ownerFailed(w http.ResponseWriter, lz i18n.Localizer, err error) {
	v := ownerView{L: lz, Tone: "bad"}
	status, heading, hint := http.StatusGone, i18n.TryAgain, i18n.TryAgainHint
	switch {
	case errors.Is(err, ErrLinksOff):
		status, heading, hint = http.StatusNotFound, i18n.LinksOff, i18n.LinksOffHint
	case errors.Is(err, ErrBadLink):
		status, heading, hint = http.StatusNotFound, i18n.BadLink, i18n.BadLinkHint
	case errors.Is(err, ErrLinkExpired):
		heading, hint = i18n.LinkExpired, i18n.LinkExpHint
	case errors.Is(err, ErrLinkFinished):
		v.Tone, heading, hint = "ok", i18n.LinkFinished, i18n.LinkFinHint
	case errors.Is(err, errForeignForm):
		status, heading, hint = http.StatusForbidden, i18n.FormForeign, i18n.FormForeignHnt
	default:
		s.p.Logger.Error("owner page", zap.Error(err))
		status = http.StatusServiceUnavailable
	}
	v.Heading, v.Message = lz.T(heading), lz.T(hint)
	s.render(w, status, "owner", v)
}
