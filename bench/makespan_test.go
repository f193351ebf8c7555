package bench

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/rdonboard/rdonboard/internal/config"
	"github.com/rdonboard/rdonboard/internal/harness"
	"github.com/rdonboard/rdonboard/internal/ingest"
	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/internal/redistest"
	"github.com/rdonboard/rdonboard/internal/sandbox"
)

// The owner makespan's world: makespanMembers members on makespanPhones
// phones, makespanBig of them holding makespanBigSize accounts each.
const (
	makespanMembers = 2000
	makespanPhones  = 400
	makespanBig     = 5
	makespanBigSize = 20
	makespanGap     = time.Second
	makespanSendQPS = 50
)

// BenchmarkOwnerMakespan measures how close the phone turns come to the
// fastest the world allows: members on shared phones (a few with 20
// accounts), ONBOARD_PHONE_GAP=1s, owners who read only their phone and
// hand each code in by phone after 0.2–1.5 s, a send quota of 50/s at the
// cloud and in the worker. It reports the time until all are bound ÷
// max(N ÷ send rate, max over phones of members × gap). Target ≤ 1.25.
func BenchmarkOwnerMakespan(b *testing.B) {
	load := startLoad(b, newClient(b, redistest.URL(b), 2))
	var ratios []float64
	for range b.N {
		ratios = append(ratios, makespanOnce(b))
	}
	b.ReportMetric(ratios[len(ratios)-1], "makespan/bound")
	b.ReportMetric(load.others(b), "others-cores")
}

// makespanOnce runs the world once and returns its makespan ÷ lower bound.
func makespanOnce(b *testing.B) float64 {
	b.Helper()
	env := harness.Start(b, harness.Options{
		Sandbox: sandbox.Options{SendQPS: makespanSendQPS, CodeTTL: time.Hour},
		Configure: func(c *config.Config) {
			c.SendQPS, c.PhoneGap = makespanSendQPS, makespanGap
		},
	})
	rows, biggest := makespanRows()
	rng := rand.New(rand.NewPCG(1, 2))
	env.StartPhoneOwners(env.Worker(0), func(sms sandbox.SMS, _ int) harness.Answer {
		return harness.Answer{Code: sms.Code, Delay: 200*time.Millisecond + time.Duration(rng.Int64N(int64(1300*time.Millisecond)))}
	})
	start := time.Now()
	env.Enqueue("makespan", rows, ingest.Options{})
	got := env.WaitTerminal(makespanMembers, 5*time.Minute)
	took := time.Since(start)
	if got[member.Bound] != makespanMembers {
		b.Fatalf("bound %d of %d (counts %v)", got[member.Bound], makespanMembers, got)
	}
	st := sandboxStats(b, env.CloudURL)
	if st.PhoneOverlaps != 0 || st.QuotaRejections[sandbox.ActionSendCode] != 0 {
		b.Errorf("%d phone overlaps, %d send quota rejections; want 0", st.PhoneOverlaps, st.QuotaRejections[sandbox.ActionSendCode])
	}
	if st.SMSSent != makespanMembers {
		b.Errorf("%d SMS sent; want one per member (%d)", st.SMSSent, makespanMembers)
	}
	if time.Duration(st.MinPhoneGapMS)*time.Millisecond < makespanGap {
		b.Errorf("min_phone_gap_ms %d; want at least ONBOARD_PHONE_GAP (%s)", st.MinPhoneGapMS, makespanGap)
	}
	b.Logf("last SMS to a %d-account phone after %s", biggest, lastSMSOfBig(env.Sandbox.SMS(""), start).Round(time.Millisecond))
	bound := max(time.Duration(makespanMembers)*time.Second/makespanSendQPS, time.Duration(biggest)*makespanGap)
	b.Logf("all bound after %s; lower bound %s; phone_overlaps %d, min_phone_gap_ms %d",
		took.Round(time.Millisecond), bound, st.PhoneOverlaps, st.MinPhoneGapMS)
	return took.Seconds() / bound.Seconds()
}

// lastSMSOfBig is when, after start, the last SMS to one of the big
// phones (makespanRows puts them first) went: whether they set the end.
func lastSMSOfBig(all []sandbox.SMS, start time.Time) time.Duration {
	big := map[string]bool{}
	for p := range makespanBig {
		big[fmt.Sprintf("86-1390%07d", p)] = true
	}
	var last time.Duration
	for _, m := range all {
		if big[m.Phone] {
			last = max(last, m.SentAt.Sub(start))
		}
	}
	return last
}

// sandboxStats reads the sandbox's counters as any client would, from GET
// /sandbox/stats.
func sandboxStats(b *testing.B, cloudURL string) sandbox.Stats {
	b.Helper()
	resp, err := http.Get(cloudURL + "/sandbox/stats")
	if err != nil {
		b.Fatalf("sandbox stats: %v", err)
	}
	defer resp.Body.Close()
	var st sandbox.Stats
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("sandbox stats: %s", resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		b.Fatalf("sandbox stats: %v", err)
	}
	return st
}

// makespanRows spreads the members over the phones: makespanBig phones of
// makespanBigSize, the rest as even as can be. It returns the rows, in an
// order mixing the phones, and the most members of one phone.
func makespanRows() ([]harness.Row, int) {
	sizes := make([]int, makespanPhones)
	left := makespanMembers - makespanBig*makespanBigSize
	for i := range sizes {
		if i < makespanBig {
			sizes[i] = makespanBigSize
			continue
		}
		sizes[i] = left / (makespanPhones - i)
		left -= sizes[i]
	}
	var rows []harness.Row
	biggest := slices.Max(sizes)
	for round := 0; round < biggest; round++ {
		for p, n := range sizes {
			if round < n {
				rows = append(rows, harness.Row{AccountID: fmt.Sprintf("1%015d", len(rows)), Phone: fmt.Sprintf("86-1390%07d", p)})
			}
		}
	}
	return rows, biggest
}
