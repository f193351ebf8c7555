// Package ownermsg keeps the latest message to each phone's owner on each
// channel (email, webhook, chat robots) and its outcome, for the status
// page. The notifier writes it; the read side reads it. Phones are named
// by a keyed hash in keys and by their masked form in the records, so
// nothing here shows a full number.
package ownermsg

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rdonboard/rdonboard/tasks"
)

// Outcomes a message ends with or waits in.
const (
	Delivered = "delivered"
	Skipped   = "skipped"
	Failed    = "failed"
	Throttled = "throttled"
	Error     = "error"
)

// Last is the latest message on one channel to a phone's owner.
type Last struct {
	// Phone is the masked phone (86-139****1001).
	Phone   string    `json:"phone"`
	Channel string    `json:"channel"`
	Event   string    `json:"event"`
	Outcome string    `json:"outcome"`
	Detail  string    `json:"detail,omitempty"`
	At      time.Time `json:"at"`
}

// Phone is one phone's latest messages, a record per channel, channels in
// name order.
type Phone struct {
	Phone    string
	At       time.Time // of the latest of them
	Messages []Last
}

// Failed reports whether the latest message on some channel failed for
// good.
func (p Phone) Failed() bool {
	return slices.ContainsFunc(p.Messages, func(l Last) bool { return l.Outcome == Failed })
}

// Book is where the latest messages are kept in Redis: a hash per phone
// (field per channel), an index of phones by the time of their latest
// message, and an index of the (phone, channel) pairs whose latest message
// failed, by its time; both forget what is older than the records.
type Book struct {
	rdb    redis.UniversalClient
	prefix string
	ttl    time.Duration
}

// New returns the Book of the member store whose keys start with
// storePrefix; a phone's records are kept as long as its message tasks
// (tasks.NotifyRetention) after its last message.
func New(rdb redis.UniversalClient, storePrefix string) *Book {
	return &Book{rdb: rdb, prefix: storePrefix + "notify:", ttl: tasks.NotifyRetention}
}

func (b *Book) key(hash string) string { return b.prefix + "last:" + hash }
func (b *Book) index() string          { return b.prefix + "lastidx" }
func (b *Book) failed() string         { return b.prefix + "lastfail" }

// Keep records last as the latest message on its channel to the phone
// named hash.
func (b *Book) Keep(ctx context.Context, hash string, last Last) error {
	raw, err := json.Marshal(last)
	if err != nil {
		return err
	}
	member := hash + ":" + last.Channel
	pipe := b.rdb.TxPipeline()
	pipe.HSet(ctx, b.key(hash), last.Channel, raw)
	pipe.Expire(ctx, b.key(hash), b.ttl)
	pipe.ZAdd(ctx, b.index(), redis.Z{Score: float64(last.At.UnixMilli()), Member: hash})
	expired := fmt.Sprint(last.At.Add(-b.ttl).UnixMilli())
	pipe.ZRemRangeByScore(ctx, b.index(), "-inf", expired)
	if last.Outcome == Failed {
		pipe.ZAdd(ctx, b.failed(), redis.Z{Score: float64(last.At.UnixMilli()), Member: member})
	} else {
		pipe.ZRem(ctx, b.failed(), member)
	}
	pipe.ZRemRangeByScore(ctx, b.failed(), "-inf", expired)
	_, err = pipe.Exec(ctx)
	return err
}

// Of returns the latest messages to the phone named hash.
func (b *Book) Of(ctx context.Context, hash string) ([]Last, error) {
	raw, err := b.rdb.HGetAll(ctx, b.key(hash)).Result()
	if err != nil {
		return nil, fmt.Errorf("last messages: %w", err)
	}
	return decode(raw), nil
}

// decode reads a phone's hash, channels in name order; a record that does
// not decode is left out.
func decode(raw map[string]string) []Last {
	out := make([]Last, 0, len(raw))
	for _, v := range raw {
		var l Last
		if json.Unmarshal([]byte(v), &l) == nil {
			out = append(out, l)
		}
	}
	slices.SortFunc(out, func(a, c Last) int { return strings.Compare(a.Channel, c.Channel) })
	return out
}

// Recent returns the n phones messaged last, latest first, and how many
// (phone, channel) pairs have a latest message that failed for good.
func (b *Book) Recent(ctx context.Context, n int) ([]Phone, int64, error) {
	hashes, err := b.rdb.ZRevRange(ctx, b.index(), 0, int64(n)-1).Result()
	if err != nil {
		return nil, 0, fmt.Errorf("phones messaged: %w", err)
	}
	failed, err := b.rdb.ZCard(ctx, b.failed()).Result()
	if err != nil {
		return nil, 0, fmt.Errorf("failed messages: %w", err)
	}
	pipe := b.rdb.Pipeline()
	reads := make([]*redis.MapStringStringCmd, len(hashes))
	for i, h := range hashes {
		reads[i] = pipe.HGetAll(ctx, b.key(h))
	}
	if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
		return nil, 0, fmt.Errorf("last messages: %w", err)
	}
	out := make([]Phone, 0, len(hashes))
	for _, read := range reads {
		msgs := decode(read.Val())
		if len(msgs) == 0 {
			continue // expired
		}
		p := Phone{Phone: msgs[0].Phone, Messages: msgs}
		for _, m := range msgs {
			if m.At.After(p.At) {
				p.At = m.At
			}
		}
		out = append(out, p)
	}
	return out, failed, nil
}
