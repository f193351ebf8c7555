package cloud_test

import (
	"strings"
	"testing"
	"time"

	"github.com/rdonboard/rdonboard/internal/cloud"
)

func TestKindForCode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		code   string
		status int
		want   cloud.Kind
	}{
		{"AccountSecureMobileAlreadyExists", 409, cloud.KindDone},
		{"Invalid.VerificationCode", 400, cloud.KindMember},
		{"Invalid.VerificationCode", 409, cloud.KindMember},
		{"AccountTypeMismatch", 409, cloud.KindPermanent},
		{"InvalidParameter.Whatever", 400, cloud.KindPermanent},
		{"SomethingNew", 418, cloud.KindPermanent},
		{"SendValidateCodeExceedsLimitForAccount", 409, cloud.KindDeferred},
		{"CallerIdentityError", 409, cloud.KindCallerWide},
		{"InvalidAccessKeyId.Inactive", 403, cloud.KindCallerWide},
		{"InvalidSecurityToken.MismatchWithAccessKey", 400, cloud.KindCallerWide},
		{"Forbidden.AccessKeyDisabled", 403, cloud.KindCallerWide},
		{"InvalidTimeStamp.Expired", 400, cloud.KindCallerWide},
		{"Throttling", 400, cloud.KindThrottled},
		{"Throttling.User", 429, cloud.KindThrottled},
		{"ServiceUnavailable", 503, cloud.KindTransient},
		{"SomethingNew", 502, cloud.KindTransient},
		{"SignatureNonceUsed", 400, cloud.KindTransient},
	}
	for _, tt := range tests {
		if got := cloud.KindForCode(tt.code, tt.status); got != tt.want {
			t.Errorf("KindForCode(%q, %d) = %s, want %s", tt.code, tt.status, got, tt.want)
		}
	}
}

func TestNextDailyReset(t *testing.T) {
	t.Parallel()
	cst := time.FixedZone("CST", 8*3600)
	tests := []struct{ now, want time.Time }{
		// 15:59 UTC is 23:59 in Shanghai: a minute to go.
		{time.Date(2024, 3, 1, 15, 59, 0, 0, time.UTC), time.Date(2024, 3, 2, 0, 0, 0, 0, cst)},
		// 16:00 UTC is midnight in Shanghai: the next one is a day away.
		{time.Date(2024, 3, 1, 16, 0, 0, 0, time.UTC), time.Date(2024, 3, 3, 0, 0, 0, 0, cst)},
		{time.Date(2024, 2, 28, 20, 0, 0, 0, time.UTC), time.Date(2024, 3, 1, 0, 0, 0, 0, cst)},
		{time.Date(2024, 12, 31, 10, 0, 0, 0, cst), time.Date(2025, 1, 1, 0, 0, 0, 0, cst)},
	}
	for _, tt := range tests {
		if got := cloud.NextDailyReset(tt.now); !got.Equal(tt.want) {
			t.Errorf("NextDailyReset(%v) = %v, want %v", tt.now, got, tt.want)
		}
	}
}

func TestEveryCallerWideCodeHasItsRemedy(t *testing.T) {
	t.Parallel()
	tests := []struct{ code, mentions string }{
		{"CallerIdentityError", "management account"},
		{"Forbidden.RAM", "AliyunResourceDirectoryFullAccess"},
		{"Forbidden.AccessKeyDisabled", "AliyunResourceDirectoryFullAccess"},
		{"NotSupport.Site.Action", "ONBOARD_SITE"},
		{"InvalidParameter.MobileCountryCode", "ONBOARD_SITE"},
		{"Invalid.EnterpriseName", "real-name verification"},
		{"EnterpriseRealNameVerificationError", "real-name verification"},
		{"InvalidAccessKeyId.NotFound", "ALIBABA_CLOUD_ACCESS_KEY_ID"},
		{"SignatureDoesNotMatch", "ALIBABA_CLOUD_ACCESS_KEY_SECRET"},
		{"InvalidSecurityToken.Expired", "ALIBABA_CLOUD_SECURITY_TOKEN"},
		{"InvalidTimeStamp.Expired", "NTP"},
		{cloud.CodeTLS, "CA bundle"},
		{cloud.CodeNoCredentials, "ALIBABA_CLOUD_ACCESS_KEY_ID"},
		{"SomethingNewAndCallerWide", "enqueue resume"},
	}
	for _, tt := range tests {
		if got := cloud.Remedy(tt.code); !strings.Contains(got, tt.mentions) {
			t.Errorf("Remedy(%q) = %q, want it to mention %q", tt.code, got, tt.mentions)
		}
	}
}
