package sandbox

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/rdonboard/rdonboard/internal/clock"
	"github.com/rdonboard/rdonboard/internal/phone"
)

// hostID is the HostId of every error answer.
const hostID = "resourcemanager.aliyuncs.com"

// expirationLayout is the format of ExpirationDate.
const expirationLayout = "2006-01-02T15:04:05.000Z"

// errorBody is an error answer; Code and Message are strings, as the SDK
// requires.
type errorBody struct {
	RequestID string `json:"RequestId"`
	HostID    string `json:"HostId"`
	Code      string `json:"Code"`
	Message   string `json:"Message"`
	Recommend string `json:"Recommend"`
}

// serveAPI answers one RPC call. The call's work is done before the
// configured latency, so a client that gives up early still finds its
// effect, as with the real cloud.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	at := s.opts.Now()
	requestID := strings.ToUpper(uuid.NewString())
	if r.URL.Path != "/" {
		s.writeError(w, requestID, newError("InvalidAction.NotFound"))
		return
	}
	action := r.URL.Query().Get("Action")
	if s.outageNow(action) == OutageDrop {
		dropConnection(w)
		return
	}
	status, body, latency := s.answer(r, action, requestID)
	s.observe(r, at, body)
	if latency > 0 {
		time.Sleep(latency)
	}
	writeJSON(w, status, body)
}

// answer works out the reply to one call and counts it.
func (s *Server) answer(r *http.Request, action, requestID string) (int, any, time.Duration) {
	parseErr := r.ParseForm()
	if a := r.Form.Get("Action"); a != "" {
		action = a
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if parseErr != nil {
		return s.reply(action, requestID, nil, invalid("Request", "The request could not be parsed."))
	}
	body, e := s.handle(r.Method, action, r.Form)
	return s.reply(action, requestID, body, e)
}

// reply counts the outcome and shapes the answer. The caller holds s.mu.
func (s *Server) reply(action, requestID string, body map[string]any, e *apiError) (int, any, time.Duration) {
	action = orNone(action)
	if e != nil {
		s.stats.count(action, e.code)
		s.log.Debug("sandbox call", zap.String("action", action), zap.String("outcome", e.code),
			zap.String("request_id", requestID))
		return e.status, errorBody{RequestID: requestID, HostID: hostID, Code: e.code, Message: e.message,
			Recommend: "https://api.aliyun.com/troubleshoot?q=" + url.QueryEscape(e.code) + "&product=ResourceManager"}, s.latency
	}
	s.stats.count(action, "ok")
	s.log.Debug("sandbox call", zap.String("action", action), zap.String("outcome", "ok"),
		zap.String("request_id", requestID))
	body["RequestId"] = requestID
	return http.StatusOK, body, s.latency
}

// handle runs the checks and the action, in the order the cloud would:
// outage, authentication, quota, random throttling, injected errors, the
// account's own faults, then the action. The caller holds s.mu.
func (s *Server) handle(method, action string, p url.Values) (map[string]any, *apiError) {
	if s.outage.mode == Outage503 {
		return nil, newError(codeServiceUnavailable)
	}
	if method != http.MethodPost && method != http.MethodGet {
		return nil, invalid("HTTPMethod", "Only GET and POST are supported.")
	}
	// The SDK stamps its requests by the wall clock, not by Options.Now.
	if e := s.authenticate(method, p, clock.Real()); e != nil {
		return nil, e
	}
	if !slices.Contains(actions, action) {
		return nil, newError("InvalidAction.NotFound")
	}
	if e := s.admit(action); e != nil {
		return nil, e
	}
	if isListing(action) {
		return s.listing(action, p)
	}
	a, e := s.target(action, p.Get("AccountId"))
	if e != nil {
		return nil, e
	}
	return s.perform(action, a, p)
}

// admit applies the action's quota and the random throttling.
func (s *Server) admit(action string) *apiError {
	if b := s.buckets[action]; b != nil && !b.take(s.opts.Now()) {
		s.stats.QuotaRejections[action]++
		return newError(codeThrottlingUser)
	}
	if s.throttleRate > 0 && rand.Float64() < s.throttleRate {
		return newError(codeThrottlingUser)
	}
	return nil
}

// target finds the account a call is for, applying injected errors and
// the account's faults.
func (s *Server) target(action, id string) (*account, *apiError) {
	switch {
	case id == "":
		return nil, missing("AccountId")
	case !isDigits(id):
		return nil, invalid("AccountId", known["InvalidParameter.AccountId"].message)
	}
	if e := fire(s.globalRules, action); e != nil {
		return nil, e
	}
	a := s.account(id)
	if e := fire(a.rules, action); e != nil {
		return nil, e
	}
	if a.transientLeft > 0 {
		a.transientLeft--
		return nil, newError(codeServiceUnavailable)
	}
	if a.fault.Missing || (s.dir != nil && a.dir == nil) {
		return nil, newError(codeAccountNotFound)
	}
	return a, nil
}

// perform runs the action itself.
func (s *Server) perform(action string, a *account, p url.Values) (map[string]any, *apiError) {
	switch action {
	case ActionSendCode:
		return s.sendCode(a, p.Get("SecureMobilePhone"))
	case ActionBind:
		return s.bind(a, p.Get("SecureMobilePhone"), p.Get("VerificationCode"))
	}
	return s.getAccount(a), nil
}

// sendCode "sends" a new code, which replaces any earlier one.
func (s *Server) sendCode(a *account, ph string) (map[string]any, *apiError) {
	if e := s.checkPhone(ph); e != nil {
		return nil, e
	}
	switch {
	case a.typ() != TypeResourceAccount:
		return nil, newError(codeTypeMismatch)
	case a.hasPhone():
		return nil, newError(codeAlreadyBound)
	}
	now := s.opts.Now()
	if !a.countSend(now, s.opts.DailySendLimit) {
		return nil, newError(codeDailyLimit)
	}
	m := SMS{AccountID: a.id, Phone: ph, Code: fmt.Sprintf("%06d", rand.IntN(1_000_000)),
		SentAt: now, ExpiresAt: now.Add(s.opts.CodeTTL)}
	s.notePhoneSend(m)
	a.code = &sentCode{phone: ph, code: m.Code, expires: m.ExpiresAt}
	s.sms = append(s.sms, m)
	s.stats.SMSSent++
	s.log.Info("sandbox sms sent", zap.String("account_id", a.id), zap.String("phone", phone.Mask(ph)),
		zap.Time("expires_at", m.ExpiresAt))
	return map[string]any{"ExpirationDate": m.ExpiresAt.UTC().Format(expirationLayout)}, nil
}

// bind binds the phone if the code is the account's latest, unused,
// unexpired and was sent to this phone.
func (s *Server) bind(a *account, ph, code string) (map[string]any, *apiError) {
	if e := s.checkPhone(ph); e != nil {
		return nil, e
	}
	switch {
	case code == "":
		return nil, missing("VerificationCode")
	case a.typ() != TypeResourceAccount:
		return nil, newError(codeTypeMismatch)
	case a.hasPhone():
		return nil, newError(codeAlreadyBound)
	case !a.code.accepts(ph, code, s.opts.Now()):
		return nil, newError(codeInvalidCode)
	}
	a.code.used = true
	a.boundPhone = ph
	s.stats.Binds[a.id]++
	return map[string]any{}, nil
}

// accepts reports whether code binds ph at now.
func (c *sentCode) accepts(ph, code string, now time.Time) bool {
	return c != nil && !c.used && c.phone == ph && c.code == code && now.Before(c.expires)
}

// checkPhone refuses a phone the site would not take: the China site
// takes mainland 86- numbers only, the international site any country's
// but those; each as stored, <country code>-<number>.
func (s *Server) checkPhone(ph string) *apiError {
	mainland := strings.HasPrefix(ph, "86-")
	switch {
	case ph == "":
		return missing("SecureMobilePhone")
	case mainland != (s.opts.Site == SiteChina):
		return newError(codeCountryCode)
	}
	if n, err := phone.Site(s.opts.Site).Normalize(ph); err != nil || n != ph {
		return invalid("SecureMobilePhone", known["InvalidParameter.SecureMobilePhone"].message)
	}
	return nil
}

// getAccount describes the account as GetAccount does.
func (s *Server) getAccount(a *account) map[string]any {
	body := s.describe(a.id, a.typ())
	body["HasSecureMobilePhone"] = a.hasPhone()
	return map[string]any{"Account": body}
}

// outageNow returns the outage mode in force, ending an expired one, and
// counts a dropped call.
func (s *Server) outageNow(action string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.outage.until.IsZero() && !s.opts.Now().Before(s.outage.until) {
		s.outage = outage{}
	}
	if s.outage.mode == OutageDrop {
		s.stats.count(orNone(action), "dropped")
	}
	return s.outage.mode
}

// dropConnection closes the connection without an answer.
func dropConnection(w http.ResponseWriter) {
	rc := http.NewResponseController(w)
	conn, _, err := rc.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	conn.Close()
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(body)
}

// writeError answers e outside of a call's accounting.
func (s *Server) writeError(w http.ResponseWriter, requestID string, e *apiError) {
	writeJSON(w, e.status, errorBody{RequestID: requestID, HostID: hostID, Code: e.code, Message: e.message})
}

func orNone(action string) string {
	if action == "" {
		return "(none)"
	}
	return action
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
