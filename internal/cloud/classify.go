package cloud

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"unicode/utf8"

	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
)

// Local codes, for failures that carry no code from the cloud.
const (
	// CodeTimeout: no answer in time (ReadTimeout, or ctx's deadline).
	CodeTimeout = "Timeout"
	// CodeCanceled: the caller's ctx was cancelled.
	CodeCanceled = "Canceled"
	// CodeConnection: the connection failed (refused, reset, closed).
	CodeConnection = "Connection"
	// CodeDNS: the endpoint's name did not resolve.
	CodeDNS = "DNS"
	// CodeTLS: the endpoint's certificate was not trusted.
	CodeTLS = "TLS"
	// CodeNoCredentials: no usable credentials were found.
	CodeNoCredentials = "NoCredentials"
	// CodeBadResponse: an answer came back that could not be read.
	CodeBadResponse = "BadResponse"
)

// maxMessage bounds a stored message: an error page may be long.
const maxMessage = 512

// rule is what the project knows of one cloud code: its kind, and what
// an operator does about it ("" when there is nothing to fix but the
// member's own data, or nothing at all).
type rule struct {
	kind   Kind
	remedy string
}

// Remedies shared by several codes.
const (
	remedyFullAccess = "grant the caller AliyunResourceDirectoryFullAccess"
	remedyVerify     = "complete the enterprise real-name verification of the management account"
	// remedyCallerWide is the remedy of a caller-wide code the table does
	// not name.
	remedyCallerWide = "fix the caller's credentials or permissions, then run `enqueue resume`"
)

// codeRules is the one table of the cloud's codes (README, "How cloud
// errors are handled"): for each code that does not follow its HTTP
// status, its kind and its remedy. Local codes (TLS, NoCredentials) are in
// it too, for their remedies.
var codeRules = map[string]rule{
	"AccountSecureMobileAlreadyExists":             {KindDone, ""},
	"Invalid.VerificationCode":                     {KindMember, ""},
	"AccountTypeMismatch":                          {KindPermanent, "only members of type ResourceAccount can have a secure phone; take the account out of the roster"},
	"EntityNotExists.Account":                      {KindPermanent, "the account is not a member of this Resource Directory: check its account_id"},
	"NotSupport.AccountInAnotherResourceDirectory": {KindPermanent, "the account belongs to another Resource Directory: bind it from that directory's management account"},
	"InvalidParameter.MobileCountryCode": {KindPermanent, "the phone's country code is one the organisation's site refuses: check ONBOARD_SITE " +
		"(china takes only 86- numbers, international every country but 86)"},
	"SendValidateCodeExceedsLimitForAccount": {KindDeferred, ""},
	"CallerIdentityError":                    {KindCallerWide, "call as a RAM user or role of the management account, with AliyunResourceDirectoryFullAccess"},
	"NotSupport.Site.Action": {KindCallerWide, "the site refuses the action: set ONBOARD_SITE and ONBOARD_CLOUD_ENDPOINT to the organisation's site " +
		"(console on aliyun.com: china; on alibabacloud.com: international)"},
	"Invalid.EnterpriseName":              {KindCallerWide, remedyVerify},
	"EnterpriseRealNameVerificationError": {KindCallerWide, remedyVerify},
	"Forbidden.RAM": {KindCallerWide, "grant the caller AliyunResourceDirectoryFullAccess (or resourcemanager:BindSecureMobilePhone, " +
		"resourcemanager:SendVerificationCodeForBindSecureMobilePhone, resourcemanager:GetAccount and resourcemanager:ListAccounts)"},
	"SignatureDoesNotMatch": {KindCallerWide, "check ALIBABA_CLOUD_ACCESS_KEY_SECRET: it does not match the AccessKey ID"},
	"IncompleteSignature":   {KindCallerWide, "check the AccessKey pair: the request signature is incomplete"},
	"MissingSecurityToken":  {KindCallerWide, "set ALIBABA_CLOUD_SECURITY_TOKEN: the AccessKey is an STS key"},
	"NoPermission":          {KindCallerWide, remedyFullAccess},
	// The caller's clock is off: every call would be refused alike.
	"InvalidTimeStamp.Expired": {KindCallerWide, "set the clock right (NTP): the cloud refuses requests stamped more than 15 minutes off"},
	// The caller's account has no resource directory.
	"EntityNotExists.ResourceDirectory": {KindCallerWide, "call from the management account of an enabled Resource Directory"},
	CodeNoCredentials:                   {KindCallerWide, "provide credentials: ALIBABA_CLOUD_ACCESS_KEY_ID and _SECRET, a profile, or a RAM role"},
	CodeTLS:                             {KindCallerWide, "the endpoint's TLS certificate is not trusted: check the system CA bundle, a proxy, or ONBOARD_CLOUD_ENDPOINT"},
	"ServiceUnavailable":                {KindTransient, ""},
	"InternalError":                     {KindTransient, ""},
	// A nonce collision: the retry signs with a new one.
	"SignatureNonceUsed": {KindTransient, ""},
}

// prefixRules classify families of codes, in order, after codeRules.
var prefixRules = []struct {
	prefix string
	rule
}{
	{"Throttling", rule{KindThrottled, ""}},
	{"InvalidAccessKeyId", rule{KindCallerWide, "check ALIBABA_CLOUD_ACCESS_KEY_ID: the key is unknown or disabled"}},
	{"InvalidSecurityToken", rule{KindCallerWide, "renew the STS token (ALIBABA_CLOUD_SECURITY_TOKEN) or the RAM role session"}},
	{"Forbidden", rule{KindCallerWide, remedyFullAccess}},
	{"InvalidParameter", rule{KindPermanent, ""}},
}

// ruleFor finds code's rule: known codes first, then families, then the
// status (5xx transient, other 4xx permanent).
func ruleFor(code string, status int) rule {
	if r, ok := codeRules[code]; ok {
		return r
	}
	for _, p := range prefixRules {
		if strings.HasPrefix(code, p.prefix) {
			return p.rule
		}
	}
	if status >= 400 && status < 500 {
		return rule{kind: KindPermanent}
	}
	return rule{kind: KindTransient}
}

// KindForCode classifies an answer of the cloud by its code and HTTP
// status: known codes first, then families, then the status (5xx
// transient, other 4xx permanent).
func KindForCode(code string, status int) Kind {
	return ruleFor(code, status).kind
}

// Remedy returns what an operator does about code: the table's remedy, or
// for a code it does not name the caller-wide default (fix credentials or
// permissions, then `enqueue resume`).
func Remedy(code string) string {
	if r := ruleFor(code, 0).remedy; r != "" {
		return r
	}
	return remedyCallerWide
}

// remedyOf is the remedy an *Error of kind carries for code: the table's,
// the caller-wide default for an unnamed caller-wide code, else none.
func remedyOf(code string, status int, kind Kind) string {
	if r := ruleFor(code, status).remedy; r != "" {
		return r
	}
	if kind == KindCallerWide {
		return remedyCallerWide
	}
	return ""
}

// classify turns what the SDK returned into an *Error.
func (s *SDK) classify(action string, err error, cl *call) *Error {
	e := s.classifyKind(action, err, cl)
	e.Remedy = remedyOf(e.Code, e.HTTPStatus, e.Kind)
	return e
}

// classifyKind sorts a failure by where it happened.
func (s *SDK) classifyKind(action string, err error, cl *call) *Error {
	var se *sdkerrors.ServerError
	switch {
	case cl.started.Load() && errors.As(err, &se):
		return s.serverError(action, se)
	case cl.ctx.Err() != nil:
		return s.contextError(action, cl.ctx.Err(), cl.wrote.Load())
	case !cl.started.Load():
		return s.credentialError(action, err)
	case cl.status.Load() != 0:
		return s.badResponse(action, err, int(cl.status.Load()))
	}
	return s.transportError(action, err, cl.wrote.Load())
}

// serverError classifies an error answer of the cloud.
func (s *SDK) serverError(action string, se *sdkerrors.ServerError) *Error {
	code, status := se.ErrorCode(), se.HttpStatus()
	if code == "" {
		code = fmt.Sprintf("HTTP%d", status)
	}
	e := &Error{
		Kind:       KindForCode(code, status),
		Action:     action,
		Code:       code,
		Message:    s.scrub(se.Message()),
		HTTPStatus: status,
		RequestID:  se.RequestId(),
	}
	if e.Kind == KindDeferred {
		e.RetryAt = NextDailyReset(s.now())
	}
	return e
}

// credentialError classifies a failure before any request left: the SDK
// resolves credentials first (possibly calling STS or the ECS metadata
// service), so this is nearly always about credentials. Their service
// being busy or unreachable is transient; anything else is caller-wide.
func (s *SDK) credentialError(action string, err error) *Error {
	e := &Error{Kind: KindCallerWide, Action: action, Code: CodeNoCredentials,
		Message: "obtaining credentials: " + s.scrub(err.Error())}
	var se *sdkerrors.ServerError
	var ue *url.Error
	switch {
	case errors.As(err, &se):
		e.Code, e.HTTPStatus, e.RequestID = orDefault(se.ErrorCode(), CodeNoCredentials), se.HttpStatus(), se.RequestId()
		e.Message = "obtaining credentials: " + s.scrub(se.Message())
		if k := KindForCode(e.Code, e.HTTPStatus); k == KindThrottled || k == KindTransient {
			e.Kind = k
		}
	case errors.As(err, &ue):
		e.Kind, e.Code = KindTransient, netCode(ue.Err)
		e.Message = "obtaining credentials: " + s.scrub(ue.Err.Error())
	}
	return e
}

// badResponse classifies an answer that came back but could not be read.
// A success that could not be read may still have done its work.
func (s *SDK) badResponse(action string, err error, status int) *Error {
	e := &Error{Kind: KindTransient, Action: action, Code: CodeBadResponse,
		Message: s.scrub(innerText(err)), HTTPStatus: status}
	if isTimeout(innerError(err)) {
		e.Code = CodeTimeout
	}
	if status >= 200 && status < 300 {
		e.Kind = KindOutcomeUnknown
	}
	return e
}

// transportError classifies a failure of the connection. Once the request
// was written whole, the cloud may have acted on it: the outcome is unknown.
// Before that nothing reached the cloud and a retry is safe.
func (s *SDK) transportError(action string, err error, wrote bool) *Error {
	inner := innerError(err)
	e := &Error{Kind: KindTransient, Action: action, Code: netCode(inner),
		Message: s.scrub(fmt.Sprintf("POST %s: %s", s.target.url(), inner.Error()))}
	switch {
	case e.Code == CodeTLS:
		// A certificate the host does not trust fails every call alike
		// (missing CA bundle, intercepting proxy).
		e.Kind = KindCallerWide
	case wrote:
		e.Kind = KindOutcomeUnknown
		e.Message += " (after the request was sent)"
	}
	return e
}

// contextError reports a call cut short by ctx; mayHaveLeft says whether
// the request may have reached the cloud.
func (s *SDK) contextError(action string, ctxErr error, mayHaveLeft bool) *Error {
	e := &Error{Kind: KindTransient, Action: action, Code: CodeCanceled,
		Message: "call cancelled by the caller"}
	if errors.Is(ctxErr, context.DeadlineExceeded) {
		e.Code, e.Message = CodeTimeout, "the caller's deadline passed"
	}
	if mayHaveLeft {
		e.Kind = KindOutcomeUnknown
		e.Message += " after the request was sent"
	}
	return e
}

// innerError drops the *url.Error around a transport failure: its text is
// the full request URL, with the AccessKeyId, the signature, the phone
// number and the verification code.
func innerError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// innerText is innerError's text.
func innerText(err error) string {
	return innerError(err).Error()
}

// netCode names a network failure with a local code.
func netCode(err error) string {
	var dnsErr *net.DNSError
	var certErr *tls.CertificateVerificationError
	var authErr x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var invalidErr x509.CertificateInvalidError
	switch {
	case errors.As(err, &dnsErr):
		return CodeDNS
	case errors.As(err, &certErr), errors.As(err, &authErr), errors.As(err, &hostErr), errors.As(err, &invalidErr):
		return CodeTLS
	case isTimeout(err):
		return CodeTimeout
	}
	return CodeConnection
}

// isTimeout reports a timeout anywhere in err's chain.
func isTimeout(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	return errors.Is(err, context.DeadlineExceeded)
}

// scrub redacts s and caps its length.
func (s *SDK) scrub(msg string) string {
	for _, secret := range s.secrets {
		msg = strings.ReplaceAll(msg, secret, "***")
	}
	return truncate(Redact(msg), maxMessage)
}

// truncate cuts s to at most n bytes, on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
