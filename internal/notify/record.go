package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/rdonboard/rdonboard/internal/member"
)

// Last is the latest message on one channel to a phone's owner, as the
// status page shows it.
type Last struct {
	Channel string    `json:"channel"`
	Event   Event     `json:"event"`
	Outcome string    `json:"outcome"`
	Detail  string    `json:"detail,omitempty"`
	At      time.Time `json:"at"`
}

// record writes one delivery attempt to the metrics, to the phone's last
// messages and, when it is final (delivered, skipped, failed), to the
// history of every member of the phone. detail is the provider's message
// ID or the error, neither of which carries a phone number or a secret.
func (d *Deliverer) record(ctx context.Context, ch Channel, m member.Member, msg Message, outcome, detail string) {
	d.metrics.Notification(ch.Name(), string(msg.Event), outcome)
	last := Last{Channel: ch.Name(), Event: msg.Event, Outcome: outcome, Detail: detail, At: d.now().UTC()}
	if err := d.keepLast(ctx, m.Phone, last); err != nil {
		d.log.Warn("last message not kept", zap.Error(err))
	}
	log := d.log.With(zap.String("account_id", m.AccountID), zap.String("channel", ch.Name()),
		zap.String("event", string(msg.Event)), zap.String("outcome", outcome), zap.String("detail", detail))
	if outcome == "throttled" || outcome == "error" {
		log.Debug("message to the phone's owner put back")
		return
	}
	log.Info("message to the phone's owner " + outcome)
	d.note(ctx, m, fmt.Sprintf("owner told: %s %s %s", ch.Name(), msg.Event, outcome)+detailSuffix(detail))
}

func detailSuffix(detail string) string {
	if detail == "" {
		return ""
	}
	return " (" + detail + ")"
}

// note adds line to the history of each member of m's phone.
func (d *Deliverer) note(ctx context.Context, m member.Member, line string) {
	ms, err := d.store.PhoneMembers(ctx, m.Phone)
	if err != nil || len(ms) == 0 {
		ms = []member.Member{m}
	}
	for _, pm := range ms {
		if err := d.store.Note(ctx, pm.AccountID, line); err != nil {
			d.log.Warn("delivery not noted in the history", zap.String("account_id", pm.AccountID), zap.Error(err))
		}
	}
}

func (d *Deliverer) lastKey(ctx context.Context, phone string) (string, error) {
	hash, err := d.keys.of(ctx, phone)
	return d.prefix + "last:" + hash, err
}

func (d *Deliverer) keepLast(ctx context.Context, phone string, last Last) error {
	key, err := d.lastKey(ctx, phone)
	if err != nil {
		return err
	}
	b, _ := json.Marshal(last)
	pipe := d.rdb.TxPipeline()
	pipe.HSet(ctx, key, last.Channel, b)
	pipe.Expire(ctx, key, deliveredTTL)
	_, err = pipe.Exec(ctx)
	return err
}

// LastMessages returns the latest message on each channel to phone's
// owner, for the status page.
func (d *Deliverer) LastMessages(ctx context.Context, phone string) ([]Last, error) {
	key, err := d.lastKey(ctx, phone)
	if err != nil {
		return nil, err
	}
	raw, err := d.rdb.HGetAll(ctx, key).Result()
	if err != nil {
		return nil, fmt.Errorf("last messages: %w", err)
	}
	out := make([]Last, 0, len(raw))
	for _, v := range raw {
		var l Last
		if json.Unmarshal([]byte(v), &l) == nil {
			out = append(out, l)
		}
	}
	return out, nil
}
