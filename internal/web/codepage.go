package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/rdonboard/rdonboard/internal/intake"
	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/internal/phone"
)

// CheckingRefresh is how often the page reloads while a code is checked.
const CheckingRefresh = 2 * time.Second

// codeView is what the self-service page shows.
type codeView struct {
	// Heading and Message say where things stand; Tone is ok, warn or bad.
	Heading, Message, Tone string
	// Phone is the masked phone the code was sent to.
	Phone string
	// Form shows the code form, posting back to Action (the link itself).
	Form    bool
	Action  string
	Expires time.Time
	// Tried and Max count the wrong codes for this SMS.
	Tried, Max int
	Refresh    int
}

// codePage shows the code form of a link, or where its member stands.
func (s *Site) codePage(w http.ResponseWriter, r *http.Request) {
	m, err := s.linkMember(r)
	if err != nil {
		s.linkFailed(w, err)
		return
	}
	code, v := s.memberPage(m, handedIn(r))
	v.Action = r.URL.Path
	s.render(w, code, "code", v)
}

// handedIn is the count of wrong codes the member had when this browser
// handed in its code (the query of the redirect after a code), or -1. While
// the count is unchanged and the member waits, the code is still queued.
func handedIn(r *http.Request) int {
	n, err := strconv.Atoi(r.URL.Query().Get("tried"))
	if err != nil || n < 0 {
		return -1
	}
	return n
}

// submitCode hands the code from the form to the intake, like any other
// code, and sends the browser back to the link to watch the result.
func (s *Site) submitCode(w http.ResponseWriter, r *http.Request) {
	m, err := s.linkMember(r)
	if err != nil {
		s.linkFailed(w, err)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, formLimit)
	code := strings.Join(strings.Fields(r.PostFormValue("code")), "")
	_, err = s.p.Intake.Submit(r.Context(), m.AccountID, code)
	if err == nil {
		http.Redirect(w, r, r.URL.Path+"?tried="+strconv.Itoa(m.CodeAttempts), http.StatusSeeOther)
		return
	}
	status, tone, heading, message := submitFailure(err)
	_, v := s.memberPage(m, -1)
	v.Action, v.Tone, v.Heading, v.Message = r.URL.Path, tone, heading, message
	if status >= 500 {
		s.p.Logger.Error("self-service code intake", zap.String("account_id", m.AccountID), zap.Error(err))
	}
	v.Form = (v.Form || status == http.StatusBadRequest) && status != http.StatusTooManyRequests
	s.render(w, status, "code", v)
}

// submitFailure is the answer to a code the intake refused.
func submitFailure(err error) (status int, tone, heading, message string) {
	switch {
	case errors.Is(err, intake.ErrMalformed):
		return http.StatusBadRequest, "warn", "Enter the 6-digit code", "The code in the SMS has 6 digits."
	case errors.Is(err, member.ErrTooManyAttempts):
		return http.StatusTooManyRequests, "bad", "Too many tries",
			"Too many codes were tried for this SMS. Wait for a new SMS and a new link."
	case errors.Is(err, member.ErrNotWaiting):
		return http.StatusConflict, "warn", "No code is needed now", "This account is not waiting for a code."
	case errors.Is(err, member.ErrNotFound):
		return http.StatusNotFound, "bad", "This link is not valid", "Ask the operator for a new link."
	}
	return http.StatusServiceUnavailable, "bad", "Please try again", "The code could not be taken right now."
}

// linkMember reads the link of r and the member it names, at the send it
// was made for. An expired link still shows a member that finished at
// that send.
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
	case m.Step() != c.Step:
		return m, ErrLinkUsed
	case expired && !m.State.Terminal():
		return m, ErrLinkExpired
	}
	return m, nil
}

// linkFailed answers a link that cannot be used.
func (s *Site) linkFailed(w http.ResponseWriter, err error) {
	v := codeView{Tone: "bad"}
	status := http.StatusGone
	switch {
	case errors.Is(err, ErrLinksOff):
		status, v.Heading, v.Message = http.StatusNotFound, "Links are turned off", "Ask the operator how to hand in your code."
	case errors.Is(err, ErrBadLink):
		status, v.Heading, v.Message = http.StatusNotFound, "This link is not valid", "Check that the whole link was copied, or ask the operator for a new one."
	case errors.Is(err, ErrLinkExpired):
		v.Heading, v.Message = "This link has expired", "The code it was for is no longer valid. A new SMS and a new link will follow."
	case errors.Is(err, ErrLinkUsed):
		v.Heading, v.Message = "This link has been used", "It was for an earlier code. If a new SMS came, ask the operator for its link."
	default:
		s.p.Logger.Error("self-service link", zap.Error(err))
		status, v.Heading, v.Message = http.StatusServiceUnavailable, "Please try again", "The page could not be loaded right now."
	}
	s.render(w, status, "code", v)
}

// memberPage is the page of a member at its link's send, by state; queued
// is what handedIn returned.
func (s *Site) memberPage(m member.Member, queued int) (int, codeView) {
	v := codeView{Phone: phone.Mask(m.Phone), Expires: m.CodeExpiresAt, Tried: m.CodeAttempts, Max: s.p.MaxCodeAttempts}
	if m.State == member.CodeSent && m.CodeAttempts <= queued {
		m.State = member.CodeSubmitted // handed in, not yet picked up
	}
	switch m.State {
	case member.CodeSent:
		v.Form, v.Heading, v.Message = true, "Enter your code", "Type the 6-digit code from the SMS sent to this phone."
		if m.CodeAttempts > 0 {
			v.Tone, v.Message = "warn", "That code was not right. Check the SMS and type it again."
		}
		return http.StatusOK, v
	case member.Pending:
		// At the link's own send: that code is spent and a new one is on
		// its way.
		v.Tone, v.Heading, v.Message = "warn", "This link has been used", "A new code is being sent to this phone; a new link will follow."
		return http.StatusGone, v
	case member.CodeSubmitted:
		v.Tone, v.Heading, v.Message = "ok", "Checking your code…", "This page updates by itself."
		v.Refresh = int(CheckingRefresh.Seconds())
		return http.StatusOK, v
	case member.Bound, member.AlreadyBound:
		v.Tone, v.Heading, v.Message = "ok", "Done", "The phone is now the account's secure mobile phone. You can close this page."
		return http.StatusOK, v
	}
	v.Tone, v.Heading, v.Message = "bad", "This link can no longer be used", "The operator has been told; they will contact you."
	return http.StatusGone, v
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
