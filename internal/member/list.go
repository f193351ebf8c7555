package member

import (
	"context"
	"fmt"
	"sort"

	"github.com/redis/go-redis/v9"
)

// PageSize is how many members one index page holds.
const PageSize = 500

// Filter selects members by batch and state; empty fields select all.
type Filter struct {
	Batch string
	State State
}

// Batches returns the names of every batch, sorted.
func (s *Store) Batches(ctx context.Context) ([]string, error) {
	names, err := s.rdb.SMembers(ctx, s.batchesKey()).Result()
	if err != nil {
		return nil, fmt.Errorf("list batches: %w", err)
	}
	sort.Strings(names)
	return names, nil
}

// BatchCounts is the number of members of one batch in each state.
type BatchCounts struct {
	Batch  string
	States map[State]int64
}

// Total is the number of members in the batch.
func (b BatchCounts) Total() int64 {
	var n int64
	for _, c := range b.States {
		n += c
	}
	return n
}

// Counts returns the members per state of each batch (one batch when
// f.Batch is set), reading only index sizes.
func (s *Store) Counts(ctx context.Context, batch string) ([]BatchCounts, error) {
	batches, err := s.batchesOf(ctx, batch)
	if err != nil {
		return nil, err
	}
	cmds := make([][]*redis.IntCmd, len(batches))
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, b := range batches {
			for _, st := range States {
				cmds[i] = append(cmds[i], p.ZCard(ctx, s.indexKey(b, st)))
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("count members: %w", err)
	}
	out := make([]BatchCounts, len(batches))
	for i, b := range batches {
		out[i] = BatchCounts{Batch: b, States: map[State]int64{}}
		for j, st := range States {
			out[i].States[st] = cmds[i][j].Val()
		}
	}
	return out, nil
}

func (s *Store) batchesOf(ctx context.Context, batch string) ([]string, error) {
	if batch != "" {
		return []string{batch}, nil
	}
	return s.Batches(ctx)
}

// Scan calls fn with every member that f selects, a page at a time, batch
// by batch and state by state, reading the indexes, never the keyspace.
// A member that changes state during the scan may be seen twice or not at
// all; one that stays is seen once.
func (s *Store) Scan(ctx context.Context, f Filter, fn func([]Member) error) error {
	batches, err := s.batchesOf(ctx, f.Batch)
	if err != nil {
		return err
	}
	states := States
	if f.State != "" {
		states = []State{f.State}
	}
	for _, b := range batches {
		for _, st := range states {
			if err := s.ScanIndex(ctx, b, st, NoLimit, fn); err != nil {
				return err
			}
		}
	}
	return nil
}

// GetMany returns the members of ids that exist, in the order of ids, in
// one pipelined round trip.
func (s *Store) GetMany(ctx context.Context, ids []string) ([]Member, error) {
	cmds := make([]*redis.MapStringStringCmd, len(ids))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.HGetAll(ctx, s.memberKey(id))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read %d members: %w", len(ids), err)
	}
	out := make([]Member, 0, len(ids))
	for i, c := range cmds {
		if len(c.Val()) > 0 {
			out = append(out, decode(ids[i], c.Val()))
		}
	}
	return out, nil
}
