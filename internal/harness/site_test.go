package harness_test

import (
	"context"
	"testing"
	"time"

	"github.com/rdonboard/rdonboard/internal/config"
	"github.com/rdonboard/rdonboard/internal/harness"
	"github.com/rdonboard/rdonboard/internal/ingest"
	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/internal/redistest"
)

func TestMain(m *testing.M) { redistest.Main(m) }

// TestInternationalSiteOnboardsEveryCountryButMainland runs members of
// several countries through a worker on the international site: the roster
// refuses the mainland and national-only numbers, and every other member
// is bound to its number as the cloud stores it.
func TestInternationalSiteOnboardsEveryCountryButMainland(t *testing.T) {
	t.Parallel()
	env := harness.Start(t, harness.Options{Site: config.SiteInternational})
	env.StartOwners(env.Worker(0), harness.Correct)
	rows := []harness.Row{
		{AccountID: "1000000000000001", Phone: "+65 8123 4567"},
		{AccountID: "1000000000000002", Phone: "1-415-555-0100"},
		{AccountID: "1000000000000003", Phone: "+44 7911 123456"},
		{AccountID: "1000000000000004", Phone: "+852 9123 4567"},
		{AccountID: "1000000000000005", Phone: "+886 912 345 678"},
		{AccountID: "1000000000000006", Phone: "+853 6612 3456"},
		{AccountID: "1000000000000007", Phone: "+86 139 0000 1234"},
		{AccountID: "1000000000000008", Phone: "13900001234"},
	}
	sum := env.Enqueue("intl", rows, ingest.Options{})
	if sum.Accepted != 6 || sum.Rejected != 2 {
		t.Fatalf("accepted %d, rejected %d; want 6 and 2", sum.Accepted, sum.Rejected)
	}
	env.WaitTerminal(6, 30*time.Second)
	want := map[string]string{
		"1000000000000001": "65-81234567", "1000000000000002": "1-4155550100", "1000000000000003": "44-7911123456",
		"1000000000000004": "852-91234567", "1000000000000005": "886-912345678", "1000000000000006": "853-66123456",
	}
	for id, ph := range want {
		m, err := env.Store.Get(context.Background(), id)
		if err != nil || m.State != member.Bound || m.Phone != ph {
			t.Errorf("member %s = %s %s, %v; want bound to %s", id, m.State, m.Phone, err, ph)
		}
		if sms := env.Sandbox.SMS(ph); len(sms) != 1 {
			t.Errorf("%d SMS to %s, want 1", len(sms), ph)
		}
	}
	if st := env.Sandbox.Stats(); len(st.Binds) != 6 || st.Calls["SendVerificationCodeForBindSecureMobilePhone"]["InvalidParameter.MobileCountryCode"] != 0 {
		t.Errorf("sandbox stats %+v: want 6 binds and no country-code refusal", st)
	}
}
