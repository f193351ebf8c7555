package sandbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// maxAdminBody bounds the body of an admin call.
const maxAdminBody = 1 << 20

// OutageRequest is the body of POST /sandbox/outage: Mode is Outage503,
// OutageDrop or "" (end the outage); For is a Go duration ("30s"), empty
// or "0" for until ended.
type OutageRequest struct {
	Mode string `json:"mode"`
	For  string `json:"for,omitempty"`
}

// ThrottleRequest is the body of POST /sandbox/throttle: Rate is the
// fraction (0..1) of calls answered Throttling.User.
type ThrottleRequest struct {
	Rate float64 `json:"rate"`
}

// registerAdmin adds the routes that steer a running sandbox process, as
// SetFaults, SetOutage and SetThrottleRate steer one in a Go test. They
// answer loopback callers only.
func (s *Server) registerAdmin() {
	s.mux.Handle("POST /sandbox/faults", loopbackOnly(http.HandlerFunc(s.postFaults)))
	s.mux.Handle("POST /sandbox/outage", loopbackOnly(postSetting(s.postOutage)))
	s.mux.Handle("POST /sandbox/throttle", loopbackOnly(postSetting(s.postThrottle)))
}

// postFaults replaces the faults with the body, in the faults file format.
func (s *Server) postFaults(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxAdminBody))
	if err != nil {
		adminError(w, http.StatusRequestEntityTooLarge, err)
		return
	}
	f, err := ParseFaults(b)
	if err != nil {
		adminError(w, http.StatusBadRequest, err)
		return
	}
	s.SetFaults(f)
	writeJSON(w, http.StatusOK, f)
}

// postSetting is the handler of an admin route whose body is a T: a body
// that does not decode, or that apply refuses, is answered 400; an applied
// one is echoed back.
func postSetting[T any](apply func(T) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req T
		if err := decodeAdmin(w, r, &req); err != nil {
			adminError(w, http.StatusBadRequest, err)
			return
		}
		if err := apply(req); err != nil {
			adminError(w, http.StatusBadRequest, err)
			return
		}
		writeJSON(w, http.StatusOK, req)
	}
}

// postOutage starts or ends an outage.
func (s *Server) postOutage(req OutageRequest) error {
	d, err := parseFor(req.For)
	switch {
	case err != nil:
		return err
	case req.Mode != "" && req.Mode != Outage503 && req.Mode != OutageDrop:
		return fmt.Errorf("mode %q: want %q, %q or \"\"", req.Mode, Outage503, OutageDrop)
	}
	s.SetOutage(req.Mode, d)
	return nil
}

// postThrottle sets the fraction of calls answered Throttling.User.
func (s *Server) postThrottle(req ThrottleRequest) error {
	if req.Rate < 0 || req.Rate > 1 {
		return fmt.Errorf("rate %v: want 0..1", req.Rate)
	}
	s.SetThrottleRate(req.Rate)
	return nil
}

// ParseFaults reads and checks faults in the file format (LoadFaults, POST
// /sandbox/faults); unknown fields are refused.
func ParseFaults(b []byte) (Faults, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var j faultsJSON
	if err := dec.Decode(&j); err != nil {
		return Faults{}, fmt.Errorf("faults: %w", err)
	}
	var f Faults
	if err := f.fromJSON(j); err != nil {
		return Faults{}, fmt.Errorf("faults: %w", err)
	}
	return f, f.Validate()
}

func parseFor(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("for %q: want a Go duration such as 30s", s)
	}
	return d, nil
}

func decodeAdmin(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxAdminBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("body: %w", err)
	}
	return nil
}

func adminError(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, map[string]string{"error": err.Error()})
}

// loopbackOnly refuses callers from other hosts: the sandbox may listen on
// every interface for a demo, but only the machine it runs on steers it.
func loopbackOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !isLoopback(r.RemoteAddr) {
			adminError(w, http.StatusForbidden, errors.New("admin routes answer loopback callers only"))
			return
		}
		h.ServeHTTP(w, r)
	})
}

func isLoopback(remote string) bool {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
