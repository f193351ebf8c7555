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

// codeKinds classifies the cloud's codes that do not follow their HTTP
// status (README, "When the cloud says no").
var codeKinds = map[string]Kind{
	"AccountSecureMobileAlreadyExists":             KindDone,
	"Invalid.VerificationCode":                     KindMember,
	"AccountTypeMismatch":                          KindPermanent,
	"EntityNotExists.Account":                      KindPermanent,
	"NotSupport.AccountInAnotherResourceDirectory": KindPermanent,
	"SendValidateCodeExceedsLimitForAccount":       KindDeferred,
	"CallerIdentityError":                          KindCallerWide,
	"NotSupport.Site.Action":                       KindCallerWide,
	"Invalid.EnterpriseName":                       KindCallerWide,
	"EnterpriseRealNameVerificationError":          KindCallerWide,
	"SignatureDoesNotMatch":                        KindCallerWide,
	"IncompleteSignature":                          KindCallerWide,
	"MissingSecurityToken":                         KindCallerWide,
	"NoPermission":                                 KindCallerWide,
	// The caller's clock is off: every call would be refused alike.
	"InvalidTimeStamp.Expired": KindCallerWide,
	// The caller's account has no resource directory.
	"EntityNotExists.ResourceDirectory": KindCallerWide,
	"ServiceUnavailable":                KindTransient,
	"InternalError":                     KindTransient,
	// A nonce collision: the retry signs with a new one.
	"SignatureNonceUsed": KindTransient,
}

// prefixKinds classifies families of codes, in order.
var prefixKinds = []struct {
	prefix string
	kind   Kind
}{
	{"Throttling", KindThrottled},
	{"InvalidAccessKeyId", KindCallerWide},
	{"InvalidSecurityToken", KindCallerWide},
	{"Forbidden", KindCallerWide},
	{"InvalidParameter", KindPermanent},
}

// KindForCode classifies an answer of the cloud by its code and HTTP
// status: known codes first, then families, then the status (5xx
// transient, other 4xx permanent).
func KindForCode(code string, status int) Kind {
	if k, ok := codeKinds[code]; ok {
		return k
	}
	for _, p := range prefixKinds {
		if strings.HasPrefix(code, p.prefix) {
			return p.kind
		}
	}
	if status >= 400 && status < 500 {
		return KindPermanent
	}
	return KindTransient
}

// classify turns what the SDK returned into an *Error.
func (s *SDK) classify(action string, err error, cl *call) *Error {
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
