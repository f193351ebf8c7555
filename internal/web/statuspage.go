package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/internal/ownermsg"
	"github.com/rdonboard/rdonboard/internal/status"
)

// AttentionCap is how many members needing a person the status page lists.
const AttentionCap = 50

// OwnersCap is how many phones the status page lists the latest messages
// of.
const OwnersCap = 50

// StatusRefresh is how often the status page reloads itself.
const StatusRefresh = 10 * time.Second

// statusView is what the status page shows.
type statusView struct {
	Snap      status.Snapshot
	States    []member.State
	Batches   []batchView
	All       *batchView
	Attention []member.View
	// NeedPerson counts every failed or expired member; Attention lists at
	// most AttentionCap of them.
	NeedPerson int64
	// Owners are the phones messaged last (at most OwnersCap), with the
	// latest message on each channel; OwnersFailed counts the (phone,
	// channel) pairs whose latest message failed for good. Messages tells
	// whether messages are kept at all.
	Messages     bool
	Owners       []ownermsg.Phone
	OwnersFailed int64
	OwnersCap    int
	Refresh      int
}

// batchView is one row of the batch table.
type batchView struct {
	Name   string
	Counts []int64
	Total  int64
	// Done, Bad and Busy are the shares (CSS widths) of the progress bar:
	// bound or already bound, failed or expired, in progress.
	Done, Bad, Busy string
	Percent         string
}

func (s *Site) statusPage(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	snap, err := s.p.Status.Snapshot(ctx, r.URL.Query().Get("batch"))
	var attention []member.View
	if err == nil {
		attention, err = s.needPerson(ctx, r.URL.Query().Get("batch"))
	}
	var owners []ownermsg.Phone
	var ownersFailed int64
	if err == nil && s.p.Messages != nil {
		owners, ownersFailed, err = s.p.Messages.Recent(ctx, OwnersCap)
	}
	if err != nil {
		s.p.Logger.Error("status page", zap.Error(err))
		http.Error(w, "cannot read the member store right now; try again", http.StatusServiceUnavailable)
		return
	}
	v := newStatusView(snap, attention)
	v.Messages, v.Owners, v.OwnersFailed, v.OwnersCap = s.p.Messages != nil, owners, ownersFailed, OwnersCap
	s.render(w, http.StatusOK, "status", v)
}

func newStatusView(snap status.Snapshot, attention []member.View) statusView {
	v := statusView{Snap: snap, States: member.States, Attention: attention,
		NeedPerson: snap.Totals[member.Failed] + snap.Totals[member.Expired], Refresh: int(StatusRefresh.Seconds())}
	for _, b := range snap.Batches {
		v.Batches = append(v.Batches, newBatchView(b.Batch, b.States))
	}
	if len(snap.Batches) > 1 {
		all := newBatchView("all batches", snap.Totals)
		v.All = &all
	}
	return v
}

func newBatchView(name string, states map[member.State]int64) batchView {
	b := batchView{Name: name}
	var done, bad int64
	for _, st := range member.States {
		n := states[st]
		b.Counts = append(b.Counts, n)
		b.Total += n
		switch st {
		case member.Bound, member.AlreadyBound:
			done += n
		case member.Failed, member.Expired:
			bad += n
		}
	}
	b.Done, b.Bad, b.Busy = share(done, b.Total), share(bad, b.Total), share(b.Total-done-bad, b.Total)
	b.Percent = "-"
	if b.Total > 0 {
		b.Percent = fmt.Sprintf("%.0f%%", 100*float64(done+bad)/float64(b.Total))
	}
	return b
}

func share(n, total int64) string {
	if total == 0 {
		return "0%"
	}
	return fmt.Sprintf("%.2f%%", 100*float64(n)/float64(total))
}

// errEnough stops a scan once the list is full.
var errEnough = errors.New("enough members")

// needPerson returns up to AttentionCap failed or expired members of batch
// (all when empty), masked.
func (s *Site) needPerson(ctx context.Context, batch string) ([]member.View, error) {
	var out []member.View
	for _, st := range []member.State{member.Failed, member.Expired} {
		err := s.p.Store.Scan(ctx, member.Filter{Batch: batch, State: st}, func(ms []member.Member) error {
			for _, m := range ms {
				if len(out) == AttentionCap {
					return errEnough
				}
				out = append(out, m.View(false))
			}
			return nil
		})
		if err != nil && !errors.Is(err, errEnough) {
			return nil, err
		}
	}
	return out, nil
}
