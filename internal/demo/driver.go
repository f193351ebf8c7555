package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/mattn/go-isatty"
	"github.com/redis/go-redis/v9"

	"github.com/rdonboard/rdonboard/internal/clock"
	"github.com/rdonboard/rdonboard/internal/i18n"
	"github.com/rdonboard/rdonboard/internal/ingest"
	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/internal/roster"
	"github.com/rdonboard/rdonboard/internal/sandbox"
	"github.com/rdonboard/rdonboard/internal/simworld"
	"github.com/rdonboard/rdonboard/internal/status"
	"github.com/rdonboard/rdonboard/internal/web"
	"github.com/rdonboard/rdonboard/tasks"
)

// The owners of these phones misbehave, so the demo shows what follows:
// one types a wrong code first, one never answers.
const (
	typoAccount   = "1386606283481222"
	silentAccount = "1386606283481229"
)

// predicted is how the example roster ends (deploy/examples/README.md).
var predicted = map[member.State]int64{member.Bound: 42, member.AlreadyBound: 1, member.Failed: 1, member.Expired: 1}

type driver struct {
	o        Options
	rdb      redis.UniversalClient
	mail     *simworld.MailServer
	sandbox  *sandbox.Server
	cloudURL string
	started  time.Time
}

// enqueue does what `enqueue members` does with the example roster.
func (d *driver) enqueue(ctx context.Context) (int64, error) {
	fmt.Fprintf(d.o.Out, "$ enqueue members %s --batch %s\n", d.o.Roster, batch)
	f, err := os.Open(d.o.Roster)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	rd, err := roster.NewReader(f)
	if err != nil {
		return 0, err
	}
	rejectsPath := filepath.Join(d.o.OutDir, "members.rejects.csv")
	rf, err := os.Create(rejectsPath)
	if err != nil {
		return 0, err
	}
	defer rf.Close()
	rw, err := roster.NewRejectsWriter(rf, false)
	if err != nil {
		return 0, err
	}
	hooks := ingest.Hooks{Reject: func(r ingest.Reject) error {
		id, ph := roster.Shown(r.AccountID, r.RawPhone, false)
		fmt.Fprintf(d.o.Out, "line %d: rejected: account_id=%q mobile_phone=%q: %s\n", r.Line, id, ph, r.Reason)
		return rw.Write(r.Line, r.AccountID, r.RawPhone, r.Reason)
	}}
	store := member.New(d.rdb, member.Options{})
	sum, err := ingest.New(store, ingest.NewClient(d.rdb)).Run(ctx, rd, ingest.Options{Batch: batch}, hooks)
	if err == nil {
		err = rw.Flush()
	}
	if err != nil {
		return 0, err
	}
	d.started = clock.Real()
	return sum.Accepted, ingest.WriteSummary(d.o.Out, sum, rejectsPath)
}

// startOwners starts the simulated phone owners. Each knows only their
// mailbox and their phone: they take the owner link from the email, read
// each code on the phone's own view (code and time, not the account) and
// hand it in on the owner page, after a moment to read and type.
func (d *driver) startOwners(ctx context.Context) (*simworld.PageOwners, error) {
	phones, err := d.phones(ctx)
	if err != nil {
		return nil, err
	}
	return simworld.StartPageOwners(ctx, simworld.PageOwnersParams{Mail: d.mail, CloudURL: d.cloudURL,
		LinkPath: web.OwnerPath, Phones: phones, Poll: 200 * time.Millisecond,
		Think: func() time.Duration { return time.Duration(500+rand.IntN(2500)) * time.Millisecond }}), nil
}

// phones returns the owner of each phone of the roster, as stored, with
// the address the roster gives: the owners of the typo and silent
// accounts' phones misbehave.
func (d *driver) phones(ctx context.Context) (map[string]simworld.Owner, error) {
	store := member.New(d.rdb, member.Options{})
	out := map[string]simworld.Owner{}
	err := store.ListPhones(ctx, func(ph string) error {
		sum, err := store.PhoneSummary(ctx, ph)
		out[ph] = simworld.Owner{Email: sum.Email}
		return err
	})
	if err != nil {
		return nil, err
	}
	for id, habit := range map[string]simworld.Owner{typoAccount: {TypoFirst: true}, silentAccount: {Never: true}} {
		m, err := store.Get(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("demo account %s: %w", id, err)
		}
		habit.Email = out[m.Phone].Email
		out[m.Phone] = habit
	}
	return out, nil
}

func getJSON(ctx context.Context, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(v)
}

// watch shows live progress until every member is terminal.
func (d *driver) watch(ctx context.Context, n int64) error {
	store := member.New(d.rdb, member.Options{})
	tty := isTerminal(d.o.Progress)
	every := 3 * time.Second
	if tty {
		every = 500 * time.Millisecond
	}
	for {
		counts, err := store.Counts(ctx, batch)
		if err != nil {
			return err
		}
		done := terminal(counts[0].States)
		d.progress(counts[0].States, tty)
		if done >= n {
			if tty {
				fmt.Fprintln(d.o.Progress)
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %d of %d members finished before the time limit", errIncomplete, done, n)
		case <-time.After(every):
		}
	}
}

func terminal(c map[member.State]int64) int64 {
	return c[member.Bound] + c[member.AlreadyBound] + c[member.Failed] + c[member.Expired]
}

func (d *driver) progress(c map[member.State]int64, tty bool) {
	var parts []string
	for _, st := range member.States {
		parts = append(parts, fmt.Sprintf("%s %d", st, c[st]))
	}
	line := fmt.Sprintf("[%4.1fs] %s", time.Since(d.started).Seconds(), strings.Join(parts, " · "))
	if tty {
		fmt.Fprintf(d.o.Progress, "\r\033[K%s", line)
		return
	}
	fmt.Fprintln(d.o.Progress, line)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && isatty.IsTerminal(f.Fd())
}

// report prints what `worker status` would, the members that need a
// person, and checks the outcome against the prediction.
func (d *driver) report(ctx context.Context, o *simworld.PageOwners) error {
	store := member.New(d.rdb, member.Options{})
	src := status.NewSource(d.rdb, store, nil)
	snap, err := src.Snapshot(ctx, batch)
	if err != nil {
		return err
	}
	fmt.Fprintf(d.o.Out, "\n$ worker status --batch %s\n", batch)
	if err := status.WriteTable(d.o.Out, snap); err != nil {
		return err
	}
	if err := d.needPerson(ctx, store); err != nil {
		return err
	}
	st := d.sandbox.Stats()
	fmt.Fprintf(d.o.Out, "\nsandbox: %d SMS sent, %d phones bound, calls %v\nowner page answers to the codes handed in, by HTTP status: %v (0: the page had no code form by then, as for an owner who typed after the account's last code expired)\n",
		st.SMSSent, len(st.Binds), st.Calls, o.Statuses())
	d.told(ctx)
	if err := d.overlaps(ctx); err != nil {
		return err
	}
	return checkPrediction(snap.Batches[0].States)
}

// overlaps prints how often a phone got an SMS while another account's
// code on it was still live (its owner could not tell which code is
// whose), as the sandbox counts it; any is a failure.
func (d *driver) overlaps(ctx context.Context) error {
	var st struct {
		PhoneOverlaps int `json:"phone_overlaps"`
	}
	if err := getJSON(ctx, d.cloudURL+"/sandbox/stats", &st); err != nil {
		return fmt.Errorf("sandbox stats: %w", err)
	}
	fmt.Fprintf(d.o.Out, "phone overlaps: %d\n", st.PhoneOverlaps)
	if st.PhoneOverlaps != 0 {
		return fmt.Errorf("%w: %d phone overlaps, want 0", errIncomplete, st.PhoneOverlaps)
	}
	return nil
}

func (d *driver) needPerson(ctx context.Context, store *member.Store) error {
	fmt.Fprintf(d.o.Out, "\n$ worker status --batch %s --state failed --format csv   (and expired)\n", batch)
	return status.WriteMembers(ctx, d.o.Out, status.CSV, store, false,
		member.Filter{Batch: batch, State: member.Failed}, member.Filter{Batch: batch, State: member.Expired},
		member.Filter{Batch: batch, State: member.AlreadyBound})
}

func checkPrediction(got map[member.State]int64) error {
	for st, n := range predicted {
		if got[st] != n {
			return fmt.Errorf("%w: %s %d, predicted %d", errIncomplete, st, got[st], n)
		}
	}
	return nil
}

// told prints how many owners each channel told, and of what, once the
// messages still queued have gone out (the outcome follows the last
// member of a phone by a moment).
func (d *driver) told(ctx context.Context) {
	insp := asynq.NewInspectorFromRedisClient(d.rdb)
	deadline := clock.Real().Add(10 * time.Second)
	for clock.Real().Before(deadline) && ctx.Err() == nil {
		info, err := insp.GetQueueInfo(tasks.QueueNotify)
		if err == nil && info.Pending+info.Active+info.Scheduled+info.Retry == 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	lz := i18n.New(i18n.Chinese, time.UTC)
	events := map[string]int{}
	owners := map[string]bool{}
	for _, m := range d.mail.Mails() {
		subject, _, _, err := m.Parts()
		if err != nil {
			continue
		}
		owners[strings.Join(m.To, ",")] = true
		switch subject {
		case lz.T(i18n.ReminderSubject):
			events["reminder"]++
		case lz.T(i18n.DoneSubject):
			events["done"]++
		default:
			events["owner_link"]++
		}
	}
	fmt.Fprintf(d.o.Out, "owners told: email %d (owner_link %d, reminder %d, done %d), caught by the demo's mail server\n",
		len(owners), events["owner_link"], events["reminder"], events["done"])
}
