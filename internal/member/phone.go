package member

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// PhoneSummary counts a phone's members.
type PhoneSummary struct {
	// Phone is the full normalized phone, never shown unmasked.
	Phone string
	// Email is the owner's address ("" if none): the first one a member of
	// the phone carries, in admission order.
	Email string
	// Accounts is the number of members on this phone.
	Accounts int
	// Bound counts members bound or already_bound.
	Bound int
	// Terminal counts members in a terminal state.
	Terminal int
	// Live is the account ID whose code is live now, or "".
	Live string
	// NextSend is when the next SMS to this phone may go: zero when no
	// member waits for one or none was sent yet.
	NextSend time.Time
	// LastSent is when the last SMS to this phone was sent (zero if none).
	LastSent time.Time
}

// Done reports whether every member of the phone is terminal.
func (p PhoneSummary) Done() bool { return p.Accounts > 0 && p.Terminal == p.Accounts }

// PhoneMembers returns every member whose current phone is phone, in
// admission order.
func (s *Store) PhoneMembers(ctx context.Context, phone string) ([]Member, error) {
	ids, err := s.rdb.ZRange(ctx, s.phoneKey(phone), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("members of a phone: %w", err)
	}
	ms, err := s.GetMany(ctx, ids)
	if err != nil {
		return nil, err
	}
	// An index entry may lag a changed phone by nothing but a crash inside
	// no script (admission moves both at once); keep only current members.
	out := ms[:0]
	for _, m := range ms {
		if m.Phone == phone {
			out = append(out, m)
		}
	}
	return out, nil
}

// PhoneSummary counts a phone's members.
func (s *Store) PhoneSummary(ctx context.Context, phone string) (PhoneSummary, error) {
	ms, err := s.PhoneMembers(ctx, phone)
	if err != nil {
		return PhoneSummary{}, err
	}
	last, err := s.LastSMS(ctx, phone)
	if err != nil {
		return PhoneSummary{}, err
	}
	sum := PhoneSummary{Phone: phone, Accounts: len(ms), LastSent: last}
	waiting := false
	for _, m := range ms {
		sum.count(m)
		waiting = waiting || m.State == Pending
	}
	if waiting && !last.IsZero() {
		sum.NextSend = last.Add(s.gap)
	}
	return sum, nil
}

// count adds one member to the summary.
func (p *PhoneSummary) count(m Member) {
	if p.Email == "" {
		p.Email = m.Email
	}
	if m.State == Bound || m.State == AlreadyBound {
		p.Bound++
	}
	if m.State.Terminal() {
		p.Terminal++
	}
	if m.State.Live() && p.Live == "" {
		p.Live = m.AccountID
	}
}

// LiveMember returns the member of phone a code is for now, ok=false if
// none: the one whose code is live (code_sent or code_submitted), or the
// phone's turn holder while its send is in flight (the SMS may reach the
// phone before the send is recorded). It is CodeHolder without the errors.
func (s *Store) LiveMember(ctx context.Context, phone string) (m Member, ok bool, err error) {
	m, err = s.CodeHolder(ctx, phone)
	if errors.Is(err, ErrNoSuchPhone) || errors.Is(err, ErrNotWaiting) {
		return Member{}, false, nil
	}
	return m, err == nil, err
}

// ListPhones calls fn for each phone with at least one member, any order.
func (s *Store) ListPhones(ctx context.Context, fn func(phone string) error) error {
	var cursor uint64
	for {
		phones, next, err := s.rdb.SScan(ctx, s.phonesKey(), cursor, "", PageSize).Result()
		if err != nil {
			return fmt.Errorf("list phones: %w", err)
		}
		for _, p := range phones {
			if err := fn(p); err != nil {
				return err
			}
		}
		if next == 0 {
			return nil
		}
		cursor = next
	}
}

// LastSMS returns when the last SMS to phone was sent (zero if none).
func (s *Store) LastSMS(ctx context.Context, phone string) (time.Time, error) {
	v, err := s.rdb.Get(ctx, s.lastSMSKey(phone)).Result()
	if err == redis.Nil {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("last SMS to a phone: %w", err)
	}
	return millis(v), nil
}

// ErrNoSuchPhone reports a phone no member has.
var ErrNoSuchPhone = errors.New("no member has this phone")

// CodeHolder returns the member of phone a code handed in by phone is
// for: the one whose code is live, or the phone's turn holder while its
// send is being recorded (the SMS may arrive first). It returns
// ErrNoSuchPhone or ErrNotWaiting when there is none.
func (s *Store) CodeHolder(ctx context.Context, phone string) (Member, error) {
	ms, err := s.PhoneMembers(ctx, phone)
	if err != nil {
		return Member{}, err
	}
	if len(ms) == 0 {
		return Member{}, ErrNoSuchPhone
	}
	holder, err := s.TurnHolder(ctx, phone)
	if err != nil {
		return Member{}, err
	}
	for _, m := range ms {
		if m.State.Live() || (m.AccountID == holder && m.State == Pending && m.Sending != "") {
			return m, nil
		}
	}
	return Member{}, fmt.Errorf("no member of this phone: %w", ErrNotWaiting)
}
