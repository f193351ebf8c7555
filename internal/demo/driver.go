package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"github.com/mattn/go-isatty"
	"github.com/redis/go-redis/v9"

	"github.com/rdonboard/rdonboard/internal/ingest"
	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/internal/pause"
	"github.com/rdonboard/rdonboard/internal/roster"
	"github.com/rdonboard/rdonboard/internal/sandbox"
	"github.com/rdonboard/rdonboard/internal/status"
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
	sandbox  *sandbox.Server
	cloudURL string
	apiURL   string
	token    string
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
	d.started = time.Now()
	return sum.Accepted, ingest.WriteSummary(d.o.Out, sum, rejectsPath)
}

// owners simulates the people holding the phones. Each knows only their
// phone and the SMS it received (code and time, not the account), and
// hands each code in by phone.
type owners struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	posted map[int]int
	typoed bool
}

// firstTypo reports whether the typing owner has yet to make the one typo.
func (o *owners) firstTypo() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	first := !o.typoed
	o.typoed = true
	return first
}

func (o *owners) stop() {
	o.cancel()
	o.wg.Wait()
}

// habit is how a phone's owner answers.
type habit int

const (
	answers habit = iota
	typesWrongFirst
	neverAnswers
)

func (d *driver) startOwners(ctx context.Context) (*owners, error) {
	phones, err := d.phones(ctx)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	o := &owners{cancel: cancel, posted: map[int]int{}}
	o.wg.Add(1)
	go func() {
		defer o.wg.Done()
		d.readSMS(ctx, o, phones)
	}()
	return o, nil
}

// phones returns the phones of the roster as stored, each with its owner's
// habit: the owners of the typo and silent accounts' phones misbehave.
func (d *driver) phones(ctx context.Context) (map[string]habit, error) {
	store := member.New(d.rdb, member.Options{})
	out := map[string]habit{}
	err := store.ListPhones(ctx, func(ph string) error { out[ph] = answers; return nil })
	if err != nil {
		return nil, err
	}
	for id, h := range map[string]habit{typoAccount: typesWrongFirst, silentAccount: neverAnswers} {
		m, err := store.Get(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("demo account %s: %w", id, err)
		}
		out[m.Phone] = h
	}
	return out, nil
}

// readSMS polls each phone's own view in the sandbox, as its owner reads
// the messages, and answers each new SMS.
func (d *driver) readSMS(ctx context.Context, o *owners, phones map[string]habit) {
	seen := map[string]int{}
	for ctx.Err() == nil {
		for ph, h := range phones {
			var view []sandbox.PhoneSMS
			if err := getJSON(ctx, d.cloudURL+"/sandbox/phones/"+url.PathEscape(ph)+"/sms", &view); err != nil {
				continue
			}
			for _, sms := range view[min(seen[ph], len(view)):] {
				d.answer(ctx, o, ph, h, sms.Code)
			}
			seen[ph] = len(view)
		}
		sleep(ctx, 200*time.Millisecond)
	}
}

func (d *driver) answer(ctx context.Context, o *owners, ph string, h habit, code string) {
	if h == neverAnswers {
		return
	}
	o.wg.Add(1)
	go func() {
		defer o.wg.Done()
		// A person needs a moment to read and type.
		sleep(ctx, time.Duration(500+rand.IntN(2500))*time.Millisecond)
		if h == typesWrongFirst && o.firstTypo() {
			o.record(d.postCode(ctx, ph, typo(code)))
			sleep(ctx, time.Second)
		}
		o.record(d.postCode(ctx, ph, code))
	}()
}

func (o *owners) record(status int) {
	o.mu.Lock()
	o.posted[status]++
	o.mu.Unlock()
}

// typo returns the code with its last two digits swapped, or changed.
func typo(code string) string {
	b := []byte(code)
	if b[4] == b[5] {
		b[5] = '0' + (b[5]-'0'+1)%10
	} else {
		b[4], b[5] = b[5], b[4]
	}
	return string(b)
}

// postCode hands a code in by phone, as the owner page or a chat robot
// would for an owner who knows only their phone.
func (d *driver) postCode(ctx context.Context, ph, code string) int {
	body, _ := json.Marshal(map[string]string{"phone": ph, "code": code})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.apiURL+"/v1/codes", bytes.NewReader(body))
	if err != nil {
		return 0
	}
	req.Header.Set("Authorization", "Bearer "+d.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
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

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
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
func (d *driver) report(ctx context.Context, o *owners) error {
	store := member.New(d.rdb, member.Options{})
	src := status.Source{Store: store, Insp: asynq.NewInspectorFromRedisClient(d.rdb),
		Pause: pause.New(d.rdb, store.Prefix(), tasks.CloudQueues)}
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
	fmt.Fprintf(d.o.Out, "\nsandbox: %d SMS sent, %d phones bound, calls %v\nowners' answers by HTTP status: %v\n",
		st.SMSSent, len(st.Binds), st.Calls, o.posted)
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
