package cloud

import "strings"

// remedies tell an operator what to fix for each caller-wide error code,
// by code prefix.
var remedies = []struct{ prefix, remedy string }{
	{"CallerIdentityError", "call as a RAM user or role of the management account, with AliyunResourceDirectoryFullAccess"},
	{"Forbidden.RAM", "grant the caller AliyunResourceDirectoryFullAccess (or resourcemanager:BindSecureMobilePhone and resourcemanager:SendVerificationCodeForBindSecureMobilePhone)"},
	{"NotSupport.Site.Action", "use an account of the China site (resourcemanager.aliyuncs.com); the international site cannot bind mainland phones"},
	{"Invalid.EnterpriseName", "complete the enterprise real-name verification of the management account"},
	{"EnterpriseRealNameVerificationError", "complete the enterprise real-name verification of the management account"},
	{"InvalidAccessKeyId", "check ALIBABA_CLOUD_ACCESS_KEY_ID: the key is unknown or disabled"},
	{"SignatureDoesNotMatch", "check ALIBABA_CLOUD_ACCESS_KEY_SECRET: it does not match the AccessKey ID"},
	{"InvalidSecurityToken", "renew the STS token (ALIBABA_CLOUD_SECURITY_TOKEN) or the RAM role session"},
	{"NoCredentials", "provide credentials: ALIBABA_CLOUD_ACCESS_KEY_ID and _SECRET, a profile, or a RAM role"},
	{"MissingSecurityToken", "set ALIBABA_CLOUD_SECURITY_TOKEN: the AccessKey is an STS key"},
	{"InvalidTimeStamp", "set the worker's clock right (NTP): the cloud refuses requests stamped more than 15 minutes off"},
	{"NoPermission", "grant the caller AliyunResourceDirectoryFullAccess"},
	{"Forbidden", "grant the caller AliyunResourceDirectoryFullAccess"},
	{"EntityNotExists.ResourceDirectory", "call from the management account of an enabled Resource Directory"},
	{"TLS", "the endpoint's TLS certificate is not trusted: check the system CA bundle, a proxy, or ONBOARD_CLOUD_ENDPOINT"},
	{"IncompleteSignature", "check the AccessKey pair: the request signature is incomplete"},
}

// Remedy returns what an operator must fix for a caller-wide error code.
func Remedy(code string) string {
	for _, r := range remedies {
		if strings.HasPrefix(code, r.prefix) {
			return r.remedy
		}
	}
	return "fix the caller's credentials or permissions, then run `enqueue resume`"
}
