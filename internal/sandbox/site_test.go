package sandbox_test

import (
	"net/http"
	"testing"

	"github.com/rdonboard/rdonboard/internal/sandbox"
)

func TestSitesRefuseEachOthersNumbers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		site, phone string
		status      int
		code        string
	}{
		{sandbox.SiteChina, "86-13900001234", http.StatusOK, ""},
		{sandbox.SiteChina, "65-81234567", http.StatusConflict, "InvalidParameter.MobileCountryCode"},
		{sandbox.SiteInternational, "65-81234567", http.StatusOK, ""},
		{sandbox.SiteInternational, "1-4155550100", http.StatusOK, ""},
		{sandbox.SiteInternational, "86-13900001234", http.StatusConflict, "InvalidParameter.MobileCountryCode"},
		// Not as stored, or not a mobile number of its country.
		{sandbox.SiteInternational, "+65 8123 4567", http.StatusBadRequest, "InvalidParameter.SecureMobilePhone"},
		{sandbox.SiteInternational, "65-61234567", http.StatusBadRequest, "InvalidParameter.SecureMobilePhone"},
	}
	for _, tt := range tests {
		t.Run(tt.site+" "+tt.phone, func(t *testing.T) {
			t.Parallel()
			r := setup(t, sandbox.Options{Site: tt.site})
			a := r.send(t, member, tt.phone)
			if tt.status == http.StatusOK {
				wantOK(t, a)
				if sms := r.sb.SMS(tt.phone); len(sms) != 1 {
					t.Errorf("SMS to %s: %+v", tt.phone, sms)
				}
				return
			}
			wantErr(t, a, tt.status, tt.code)
		})
	}
}

func TestInternationalSiteBinds(t *testing.T) {
	t.Parallel()
	r := setup(t, sandbox.Options{Site: sandbox.SiteInternational})
	const sg = "65-81234567"
	wantOK(t, r.send(t, member, sg))
	if sms := r.sb.SMS("+65 8123 4567"); len(sms) != 1 {
		t.Fatalf("SMS by another spelling of the number: %+v", sms)
	}
	wantOK(t, r.bind(t, member, sg, r.latestCode(t, member)))
	if got := r.get(t, member).body["Account"].(map[string]any)["HasSecureMobilePhone"]; got != true {
		t.Errorf("HasSecureMobilePhone %v after the bind", got)
	}
}

func TestUnknownSiteIsRefused(t *testing.T) {
	t.Parallel()
	if _, err := sandbox.New(sandbox.Options{Site: "mars"}); err == nil {
		t.Error("sandbox.New accepted site mars")
	}
}
