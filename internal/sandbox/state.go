package sandbox

import (
	"maps"
	"time"

	"github.com/rdonboard/rdonboard/internal/phone"
)

// SMS is a code the sandbox "sent".
type SMS struct {
	AccountID string    `json:"account_id"`
	Phone     string    `json:"phone"`
	Code      string    `json:"code"`
	SentAt    time.Time `json:"sent_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Stats counts what the sandbox answered.
type Stats struct {
	// Calls counts calls per action and outcome: "ok" or the error code
	// (also "dropped" during an OutageDrop).
	Calls map[string]map[string]int `json:"calls"`
	// QuotaRejections counts calls refused by an action's quota.
	QuotaRejections map[string]int `json:"quota_rejections"`
	// Binds counts successful binds per account.
	Binds map[string]int `json:"binds"`
	// SMSSent counts codes sent.
	SMSSent int `json:"sms_sent"`
	// PhoneOverlaps and MinPhoneGapMS: see notePhoneSend.
	PhoneOverlaps int   `json:"phone_overlaps"`
	MinPhoneGapMS int64 `json:"min_phone_gap_ms"`
}

func newStats() Stats {
	return Stats{Calls: map[string]map[string]int{}, QuotaRejections: map[string]int{}, Binds: map[string]int{}}
}

func (st Stats) clone() Stats {
	c := Stats{Calls: map[string]map[string]int{}, QuotaRejections: maps.Clone(st.QuotaRejections),
		Binds: maps.Clone(st.Binds), SMSSent: st.SMSSent, PhoneOverlaps: st.PhoneOverlaps, MinPhoneGapMS: st.MinPhoneGapMS}
	for action, outcomes := range st.Calls {
		c.Calls[action] = maps.Clone(outcomes)
	}
	return c
}

// count records one call's outcome.
func (st Stats) count(action, outcome string) {
	if st.Calls[action] == nil {
		st.Calls[action] = map[string]int{}
	}
	st.Calls[action][outcome]++
}

// account is the sandbox's view of one member.
type account struct {
	id    string
	fault AccountFault
	// dir is the account in the Directory; nil without one, or when the
	// account is not in it.
	dir *DirectoryMember
	// transientLeft counts down fault.Transient.
	transientLeft int
	rules         []*rule
	// boundPhone is the phone bound through the API or BindDirect.
	boundPhone string
	// code is the latest code sent; only it can bind.
	code *sentCode
	// sendDay and sendsToday count codes sent on one UTC+8 day.
	sendDay    string
	sendsToday int
}

// sentCode is a code waiting to be handed in.
type sentCode struct {
	phone   string
	code    string
	expires time.Time
	used    bool
}

// account returns the account, creating it healthy (or as the faults say)
// on first sight. The caller holds s.mu.
func (s *Server) account(id string) *account {
	a, ok := s.accounts[id]
	if !ok {
		a = &account{id: id}
		if s.dir != nil {
			a.dir = s.dir.members[id]
		}
		a.setFault(s.faults.Accounts[id])
		s.accounts[id] = a
	}
	return a
}

func (a *account) setFault(f AccountFault) {
	a.fault = f
	a.transientLeft = f.Transient
	a.rules = newRules(f.Errors)
}

// typ is the account's type: the faults', else the directory's, else
// ResourceAccount.
func (a *account) typ() string {
	switch {
	case a.fault.Type != "":
		return a.fault.Type
	case a.dir != nil:
		return a.dir.Type
	}
	return TypeResourceAccount
}

func (a *account) hasPhone() bool {
	return a.fault.HasPhone || a.boundPhone != "" || (a.dir != nil && a.dir.HasPhone)
}

// shanghai is UTC+8, where the cloud's day starts.
var shanghai = time.FixedZone("UTC+8", 8*60*60)

// countSend counts a send against the daily limit; false when over it.
func (a *account) countSend(now time.Time, limit int) bool {
	day := now.In(shanghai).Format(time.DateOnly)
	if day != a.sendDay {
		a.sendDay, a.sendsToday = day, 0
	}
	if limit >= 0 && a.sendsToday >= limit {
		return false
	}
	a.sendsToday++
	return true
}

// normalizePhone is the stored spelling of p on the sandbox's site, or p
// itself.
func (s *Server) normalizePhone(p string) string {
	if n, err := phone.Site(s.opts.Site).Normalize(p); err == nil {
		return n
	}
	return p
}

// nonceStore remembers nonces for as long as their timestamps are
// accepted, so a replay is refused.
type nonceStore struct {
	seen    map[string]time.Time
	inserts int
}

// use records nonce; false if it was seen.
func (n *nonceStore) use(nonce string, now time.Time) bool {
	if _, ok := n.seen[nonce]; ok {
		return false
	}
	n.seen[nonce] = now
	if n.inserts++; n.inserts%1024 == 0 {
		n.prune(now)
	}
	return true
}

// prune forgets nonces whose timestamps can no longer be accepted.
func (n *nonceStore) prune(now time.Time) {
	for nonce, at := range n.seen {
		if now.Sub(at) > 2*timestampSkew {
			delete(n.seen, nonce)
		}
	}
}
