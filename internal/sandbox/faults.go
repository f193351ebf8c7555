package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"time"
)

// Faults is what the sandbox does differently from a healthy cloud. As a
// JSON file (sandbox --faults FILE, LoadFaults):
//
//	{
//	  "throttle_rate": 0.05,
//	  "latency": "20ms",
//	  "errors": [
//	    {"action": "BindSecureMobilePhone", "code": "CallerIdentityError", "status": 409, "times": 1}
//	  ],
//	  "accounts": {
//	    "1000000000000001": {"type": "CloudAccount"},
//	    "1000000000000002": {"has_phone": true},
//	    "1000000000000003": {"missing": true},
//	    "1000000000000004": {"transient": 2},
//	    "1000000000000005": {"errors": [{"code": "Forbidden.RAM", "status": 403}]}
//	  }
//	}
//
// Global: throttle_rate is the fraction (0..1) of calls answered
// Throttling.User; latency (a Go duration) is added to every answer; errors
// apply to every account. Per account: type is ResourceAccount (default) or
// CloudAccount (AccountTypeMismatch on send and bind); has_phone means a
// phone is already bound; missing makes the account unknown
// (EntityNotExists.Account); transient N answers the next N calls for the
// account 503 ServiceUnavailable; errors as below. Unknown fields are
// rejected.
type Faults struct {
	// Accounts holds per-account faults, by account ID.
	Accounts map[string]AccountFault `json:"accounts,omitempty"`
	// ThrottleRate is the fraction (0..1) of calls answered Throttling.User.
	ThrottleRate float64 `json:"throttle_rate,omitempty"`
	// Latency is added to every answer ("latency": "20ms" in JSON).
	Latency time.Duration `json:"-"`
	// Errors apply to calls for every account.
	Errors []ErrorFault `json:"errors,omitempty"`
}

// AccountFault is how one account departs from a healthy ResourceAccount
// without a phone.
type AccountFault struct {
	// Type is ResourceAccount (default) or CloudAccount.
	Type string `json:"type,omitempty"`
	// HasPhone: a secure phone is already bound.
	HasPhone bool `json:"has_phone,omitempty"`
	// Missing: the account does not exist (EntityNotExists.Account, 404).
	Missing bool `json:"missing,omitempty"`
	// Transient: the next N calls for the account answer 503.
	Transient int `json:"transient,omitempty"`
	// Errors are answered to calls for this account.
	Errors []ErrorFault `json:"errors,omitempty"`
}

// ErrorFault answers matching calls with an error of the cloud.
type ErrorFault struct {
	// Action limits the fault to one action; "" matches all three.
	Action string `json:"action,omitempty"`
	// Code is the error code answered, e.g. CallerIdentityError.
	Code string `json:"code"`
	// Status is the HTTP status; 0 picks the cloud's usual one for Code
	// (400 when unknown).
	Status int `json:"status,omitempty"`
	// Message replaces the cloud's usual message for Code.
	Message string `json:"message,omitempty"`
	// Times is how many calls get the error; 0 means every call.
	Times int `json:"times,omitempty"`
}

// faultsJSON is Faults as written in a file.
type faultsJSON struct {
	Accounts     map[string]AccountFault `json:"accounts,omitempty"`
	ThrottleRate float64                 `json:"throttle_rate,omitempty"`
	Latency      string                  `json:"latency,omitempty"`
	Errors       []ErrorFault            `json:"errors,omitempty"`
}

// MarshalJSON writes f in the file format.
func (f Faults) MarshalJSON() ([]byte, error) {
	j := faultsJSON{Accounts: f.Accounts, ThrottleRate: f.ThrottleRate, Errors: f.Errors}
	if f.Latency > 0 {
		j.Latency = f.Latency.String()
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads f from the file format.
func (f *Faults) UnmarshalJSON(b []byte) error {
	var j faultsJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	return f.fromJSON(j)
}

func (f *Faults) fromJSON(j faultsJSON) error {
	*f = Faults{Accounts: j.Accounts, ThrottleRate: j.ThrottleRate, Errors: j.Errors}
	if j.Latency == "" {
		return nil
	}
	d, err := time.ParseDuration(j.Latency)
	if err != nil {
		return fmt.Errorf("latency: %w", err)
	}
	f.Latency = d
	return nil
}

// LoadFaults reads and checks a faults file.
func LoadFaults(path string) (Faults, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Faults{}, fmt.Errorf("faults: %w", err)
	}
	f, err := ParseFaults(b)
	if err != nil {
		return Faults{}, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// Validate reports values the sandbox cannot honour.
func (f Faults) Validate() error {
	if f.ThrottleRate < 0 || f.ThrottleRate > 1 {
		return fmt.Errorf("throttle_rate %v: want 0..1", f.ThrottleRate)
	}
	if f.Latency < 0 {
		return errors.New("latency: negative")
	}
	if err := validateErrors(f.Errors); err != nil {
		return fmt.Errorf("errors: %w", err)
	}
	for _, id := range slices.Sorted(maps.Keys(f.Accounts)) {
		if err := f.Accounts[id].validate(id); err != nil {
			return fmt.Errorf("account %s: %w", id, err)
		}
	}
	return nil
}

func (a AccountFault) validate(id string) error {
	switch {
	case !isDigits(id):
		return errors.New("account ID must be digits")
	case a.Type != "" && a.Type != TypeResourceAccount && a.Type != TypeCloudAccount:
		return fmt.Errorf("type %q: want %s or %s", a.Type, TypeResourceAccount, TypeCloudAccount)
	case a.Transient < 0:
		return errors.New("transient: negative")
	}
	return validateErrors(a.Errors)
}

func validateErrors(list []ErrorFault) error {
	for i, e := range list {
		switch {
		case e.Code == "":
			return fmt.Errorf("#%d: code is empty", i+1)
		case e.Status != 0 && (e.Status < 400 || e.Status > 599):
			return fmt.Errorf("#%d (%s): status %d: want 400..599", i+1, e.Code, e.Status)
		case e.Times < 0:
			return fmt.Errorf("#%d (%s): times: negative", i+1, e.Code)
		case e.Action != "" && !slices.Contains(actions, e.Action):
			return fmt.Errorf("#%d (%s): unknown action %q", i+1, e.Code, e.Action)
		}
	}
	return nil
}

// clone copies f so the caller's maps and slices are never shared.
func (f Faults) clone() Faults {
	c := f
	c.Errors = slices.Clone(f.Errors)
	c.Accounts = make(map[string]AccountFault, len(f.Accounts))
	for id, a := range f.Accounts {
		a.Errors = slices.Clone(a.Errors)
		c.Accounts[id] = a
	}
	return c
}

// rule is an ErrorFault with the count of calls it has answered.
type rule struct {
	ErrorFault
	used int
}

func newRules(list []ErrorFault) []*rule {
	rules := make([]*rule, len(list))
	for i, e := range list {
		rules[i] = &rule{ErrorFault: e}
	}
	return rules
}

// fire answers action with the first matching rule, and counts it.
func fire(rules []*rule, action string) *apiError {
	for _, r := range rules {
		if (r.Action == "" || r.Action == action) && (r.Times == 0 || r.used < r.Times) {
			r.used++
			return r.apiError()
		}
	}
	return nil
}

func (r *rule) apiError() *apiError {
	e := newError(r.Code)
	if r.Status != 0 {
		e.status = r.Status
	}
	if r.Message != "" {
		e.message = r.Message
	}
	return e
}
