// Package httpapi owns the worker's HTTP surface: the code intake and member
// lookups under /v1/ (bearer token), health and readiness, and the mount
// points other packages fill (metrics, dashboard, pages).
package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/rdonboard/rdonboard/internal/intake"
	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/internal/metrics"
)

// MaxBodyBytes bounds a request body; larger ones get 413.
const MaxBodyBytes = 4 << 10

// Params are the parts the API is built from.
type Params struct {
	Store   *member.Store
	Intake  *intake.Intake
	Redis   redis.UniversalClient
	Logger  *zap.Logger
	Metrics *metrics.Metrics
	// Token is the bearer token of /v1/; empty disables /v1/ (503).
	Token string
	// Guard guards each /v1/ route; default RequireToken with Token. The
	// worker passes the web site's, which counts wrong tokens per address.
	Guard func(http.Handler) http.Handler
	// Mounts are extra handlers by ServeMux pattern (e.g. "GET /metrics").
	Mounts map[string]http.Handler
}

// API is the worker's HTTP handler.
type API struct {
	p   Params
	mux *http.ServeMux
}

// New returns the API.
func New(p Params) *API {
	if p.Logger == nil {
		p.Logger = zap.NewNop()
	}
	if p.Guard == nil {
		p.Guard = func(h http.Handler) http.Handler { return RequireToken(p.Token, h) }
	}
	a := &API{p: p, mux: http.NewServeMux()}
	a.mux.Handle("POST /v1/codes", p.Guard(http.HandlerFunc(a.postCode)))
	a.mux.Handle("GET /v1/members/{account_id}", p.Guard(http.HandlerFunc(a.getMember)))
	a.mux.Handle("GET /v1/members", p.Guard(http.HandlerFunc(a.listMembers)))
	a.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	a.mux.HandleFunc("GET /readyz", a.ready)
	a.mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { writeError(w, http.StatusNotFound, "no such route") })
	for pattern, h := range p.Mounts {
		a.mux.Handle(pattern, h)
	}
	return a
}

// ServeHTTP serves the API.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.mux.ServeHTTP(w, r) }

// Authorized reports whether r carries the bearer token. Always false when
// no token is configured.
func (a *API) Authorized(r *http.Request) bool { return Bearer(r, a.p.Token) }

// codeRequest names the member by account_id or by phone, exactly one.
type codeRequest struct {
	AccountID string `json:"account_id"`
	Phone     string `json:"phone"`
	Code      string `json:"code"`
}

func (a *API) postCode(w http.ResponseWriter, r *http.Request) {
	var req codeRequest
	if status, msg := decodeBody(w, r, &req); status != 0 {
		a.p.Metrics.Code("malformed")
		writeError(w, status, msg)
		return
	}
	id, state, err := a.submit(r, req)
	status, msg := submitStatus(err)
	if status >= 500 {
		a.p.Logger.Error("code intake failed", zap.String("account_id", id), zap.Error(err))
	}
	if status != http.StatusAccepted {
		writeError(w, status, msg)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"account_id": id, "state": string(state)})
}

// submit hands in a code by account or by phone.
func (a *API) submit(r *http.Request, req codeRequest) (string, member.State, error) {
	switch {
	case (req.AccountID == "") == (req.Phone == ""):
		return req.AccountID, "", fmt.Errorf("%w: give account_id or phone, exactly one", intake.ErrMalformed)
	case req.Phone != "":
		return a.p.Intake.SubmitByPhone(r.Context(), req.Phone, req.Code)
	}
	state, err := a.p.Intake.Submit(r.Context(), req.AccountID, req.Code)
	return req.AccountID, state, err
}

// submitStatus maps an intake result to the documented answers.
func submitStatus(err error) (int, string) {
	switch {
	case err == nil:
		return http.StatusAccepted, ""
	case errors.Is(err, intake.ErrMalformed):
		return http.StatusBadRequest, err.Error()
	case errors.Is(err, member.ErrNotFound):
		return http.StatusNotFound, "unknown member"
	case errors.Is(err, member.ErrNoSuchPhone):
		return http.StatusNotFound, "no member has this phone"
	case errors.Is(err, member.ErrNotWaiting):
		return http.StatusConflict, err.Error()
	case errors.Is(err, member.ErrTooManyAttempts):
		return http.StatusTooManyRequests, "too many codes handed in for this send; wait for a new code"
	}
	return http.StatusServiceUnavailable, "cannot take codes right now; try again"
}

// decodeBody reads a JSON body of at most MaxBodyBytes into v; a non-zero
// status is the answer to give.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) (int, string) {
	r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	dec := json.NewDecoder(r.Body)
	err := dec.Decode(v)
	if err == nil {
		// One JSON value and nothing after it: a second object or trailing
		// bytes are not a submission to guess at.
		if _, err = dec.Token(); errors.Is(err, io.EOF) {
			return 0, ""
		}
	}
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return http.StatusRequestEntityTooLarge, "body larger than 4 KiB"
	}
	return http.StatusBadRequest, "body must be one JSON object: {\"account_id\":\"…\",\"code\":\"123456\"}"
}

func (a *API) getMember(w http.ResponseWriter, r *http.Request) {
	m, err := a.p.Store.Get(r.Context(), r.PathValue("account_id"))
	switch {
	case errors.Is(err, member.ErrNotFound):
		writeError(w, http.StatusNotFound, "unknown member")
	case err != nil:
		a.unavailable(w, err)
	default:
		writeJSON(w, http.StatusOK, m.View(false))
	}
}

func (a *API) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := a.p.Redis.Ping(ctx).Err(); err != nil {
		writeError(w, http.StatusServiceUnavailable, "Redis does not answer")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func (a *API) unavailable(w http.ResponseWriter, err error) {
	a.p.Logger.Error("request failed", zap.Error(err))
	writeError(w, http.StatusServiceUnavailable, "store unavailable; try again")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// Server returns an http.Server for h with timeouts that keep slow or
// stalled clients from holding connections.
func Server(addr string, h http.Handler) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    16 << 10,
	}
}
