package sandbox

import (
	"net/http"
	"time"
)

// Call is one API call the sandbox answered, as Options.OnCall sees it:
// what benchmarks time (rates of successful calls, the latency from a code
// handed in to its bind reaching the cloud).
type Call struct {
	// Action is the API action named by the call.
	Action string
	// AccountID is the call's AccountId parameter.
	AccountID string
	// Outcome is "ok" or the error code answered.
	Outcome string
	// At is when the request arrived, on the sandbox's clock (Options.Now).
	At time.Time
}

// observe tells Options.OnCall of an answered call that arrived at at.
// The request's form was parsed by answer.
func (s *Server) observe(r *http.Request, at time.Time, body any) {
	if s.opts.OnCall == nil {
		return
	}
	outcome := "ok"
	if e, ok := body.(errorBody); ok {
		outcome = e.Code
	}
	action := r.Form.Get("Action")
	if action == "" {
		action = r.URL.Query().Get("Action")
	}
	s.opts.OnCall(Call{Action: orNone(action), AccountID: r.Form.Get("AccountId"), Outcome: outcome, At: at})
}
