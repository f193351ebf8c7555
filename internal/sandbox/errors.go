package sandbox

import (
	"net/http"
	"strings"
)

// apiError is an error answer in the cloud's format.
type apiError struct {
	status  int
	code    string
	message string
}

// known is the cloud's usual status and message for the codes the sandbox
// answers or is asked to inject.
var known = map[string]apiError{
	codeServiceUnavailable:                         {503, "", "The request has failed due to a temporary failure of the server."},
	"InternalError":                                {500, "", "The request processing has failed due to some unknown error, exception or failure."},
	codeThrottlingUser:                             {400, "", "Request was denied due to user flow control."},
	"Throttling":                                   {400, "", "Request was denied due to flow control."},
	"Throttling.Api":                               {400, "", "Request was denied due to api flow control."},
	codeSignatureDoesNotMatch:                      {400, "", "Specified signature is not matched with our calculation. server string to sign is:"},
	"IncompleteSignature":                          {400, "", "The request signature does not conform to Aliyun standards."},
	codeAccessKeyNotFound:                          {404, "", "Specified access key is not found."},
	"InvalidAccessKeyId.Inactive":                  {403, "", "Specified access key is disabled."},
	"InvalidSecurityToken.Malformed":               {400, "", "Specified SecurityToken is malformed."},
	"InvalidSecurityToken.Expired":                 {400, "", "Specified SecurityToken is expired."},
	"MissingSecurityToken":                         {400, "", "SecurityToken is mandatory for this action."},
	"SignatureNonceUsed":                           {400, "", "Specified signature nonce was used already."},
	"InvalidTimeStamp.Expired":                     {400, "", "Specified time stamp or date value is expired."},
	"InvalidTimeStamp.Format":                      {400, "", "Specified time stamp or date value is not well formatted."},
	"InvalidVersion":                               {400, "", "Specified parameter Version is not valid."},
	"InvalidAction.NotFound":                       {404, "", "Specified api is not found, please check your url and method."},
	"Forbidden.RAM":                                {403, "", "User not authorized to operate on the specified resource, or this API doesn't support RAM."},
	"CallerIdentityError":                          {409, "", "Please use the RAM user or role of the Management Account."},
	"NotSupport.Site.Action":                       {400, "", "Site does not allow current action."},
	"Invalid.EnterpriseName":                       {409, "", "You must specify the enterprise name."},
	"EnterpriseRealNameVerificationError":          {409, "", "The specified account does not pass enterprise real-name verification. We recommend you first complete enterprise real-name verification for the account."},
	"NotSupport.AccountInAnotherResourceDirectory": {409, "", "The account is in another resource directory."},
	"EntityAlreadyExists.ResourceDirectory":        {409, "", "The resource directory for the account is already enabled."},
	codeAccountNotFound:                            {404, "", "The specified account does not exist."},
	codeFolderNotFound:                             {404, "", "The specified folder does not exist."},
	codeTypeMismatch:                               {409, "", "The type or status of the member account cannot satisfy the current operation."},
	codeAlreadyBound:                               {409, "", "The secure mobile number of the member already exists."},
	// The seed page lists 409 for an invalid code.
	codeInvalidCode:                      {409, "", "The verification code is invalid."},
	codeDailyLimit:                       {409, "", "The number of verification codes sent to the account today exceeds the limit."},
	codeCountryCode:                      {409, "", "The country code of the mobile phone number is not supported on this site."},
	"InvalidParameter.AccountId":         {400, "", "The specified AccountId is invalid."},
	"InvalidParameter.SecureMobilePhone": {400, "", "The specified SecureMobilePhone is invalid."},
}

// Codes the sandbox answers by itself.
const (
	codeServiceUnavailable    = "ServiceUnavailable"
	codeThrottlingUser        = "Throttling.User"
	codeSignatureDoesNotMatch = "SignatureDoesNotMatch"
	codeAccessKeyNotFound     = "InvalidAccessKeyId.NotFound"
	codeAccountNotFound       = "EntityNotExists.Account"
	codeFolderNotFound        = "EntityNotExists.Folder"
	codeTypeMismatch          = "AccountTypeMismatch"
	codeAlreadyBound          = "AccountSecureMobileAlreadyExists"
	codeInvalidCode           = "Invalid.VerificationCode"
	codeDailyLimit            = "SendValidateCodeExceedsLimitForAccount"
	codeCountryCode           = "InvalidParameter.MobileCountryCode"
)

// newError is the answer for code, with the cloud's usual status and
// message (400 and a generic message for codes the sandbox does not know).
func newError(code string) *apiError {
	e, ok := known[code]
	switch {
	case ok:
	case strings.HasPrefix(code, "Throttling"):
		e = known[codeThrottlingUser]
	default:
		e = apiError{status: http.StatusBadRequest, message: "Injected fault " + code + "."}
	}
	e.code = code
	return &e
}

// missing is the answer for a required parameter left out.
func missing(param string) *apiError {
	return &apiError{status: http.StatusBadRequest, code: "Missing" + param,
		message: param + " is mandatory for this action."}
}

// invalid is the answer for a parameter the cloud would reject.
func invalid(param, message string) *apiError {
	return &apiError{status: http.StatusBadRequest, code: "InvalidParameter." + param, message: message}
}
