package notify

import (
	"context"
	"fmt"

	"go.uber.org/zap"

	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/internal/ownermsg"
	"github.com/rdonboard/rdonboard/internal/phone"
)

// record writes one delivery attempt to the metrics, to the phone's last
// messages and, when it is final (delivered, skipped, failed), to the
// history of every member of the phone. detail is the provider's message
// ID or the error, neither of which carries a phone number or a secret.
func (d *Deliverer) record(ctx context.Context, ch Channel, m member.Member, msg Message, outcome, detail string) {
	d.metrics.Notification(ch.Name(), string(msg.Event), outcome)
	last := ownermsg.Last{Phone: phone.Mask(m.Phone), Channel: ch.Name(), Event: string(msg.Event), Outcome: outcome, Detail: detail, At: d.now().UTC()}
	if err := d.keepLast(ctx, m.Phone, last); err != nil {
		d.log.Warn("last message not kept", zap.Error(err))
	}
	log := d.log.With(zap.String("account_id", m.AccountID), zap.String("channel", ch.Name()),
		zap.String("event", string(msg.Event)), zap.String("outcome", outcome), zap.String("detail", detail))
	if outcome == ownermsg.Throttled || outcome == ownermsg.Error {
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

func (d *Deliverer) keepLast(ctx context.Context, phone string, last ownermsg.Last) error {
	hash, err := d.keys.of(ctx, phone)
	if err != nil {
		return err
	}
	return d.last.Keep(ctx, hash, last)
}
