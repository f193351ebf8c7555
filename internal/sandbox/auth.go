package sandbox

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"net/url"
	"strings"
	"time"
)

// apiVersion is the only API version the sandbox speaks.
const apiVersion = "2020-03-31"

// timestampSkew is how far a request's Timestamp may be from the wall
// clock.
const timestampSkew = 15 * time.Minute

// timestampLayout is the RPC Timestamp format (UTC).
const timestampLayout = "2006-01-02T15:04:05Z"

// StringToSign is the RPC signature's input for a request with params
// (query and form together): every parameter but Signature, sorted and
// encoded, with +, * and %7E fixed up, escaped once more behind the method.
func StringToSign(method string, params url.Values) string {
	q := url.Values{}
	for k, v := range params {
		if k != "Signature" {
			q[k] = v
		}
	}
	enc := strings.NewReplacer("+", "%20", "*", "%2A", "%7E", "~").Replace(q.Encode())
	return method + "&%2F&" + url.QueryEscape(enc)
}

// Sign is the RPC signature of stringToSign with secret:
// base64(HMAC-SHA1(secret + "&", stringToSign)).
func Sign(stringToSign, secret string) string {
	m := hmac.New(sha1.New, []byte(secret+"&"))
	m.Write([]byte(stringToSign))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// authenticate checks the common parameters, the AccessKey, the signature,
// the timestamp and the nonce, in that order. The caller holds s.mu.
func (s *Server) authenticate(method string, p url.Values, wall time.Time) *apiError {
	if e := checkCommon(p); e != nil {
		return e
	}
	if e := s.checkKey(p); e != nil {
		return e
	}
	sts := StringToSign(method, p)
	if !hmac.Equal([]byte(Sign(sts, s.opts.AccessKeySecret)), []byte(p.Get("Signature"))) {
		e := newError(codeSignatureDoesNotMatch)
		e.message += sts
		return e
	}
	if e := checkTimestamp(p.Get("Timestamp"), wall); e != nil {
		return e
	}
	if !s.nonces.use(p.Get("SignatureNonce"), wall) {
		return newError("SignatureNonceUsed")
	}
	return nil
}

// checkCommon checks the parameters every RPC call carries.
func checkCommon(p url.Values) *apiError {
	for _, name := range []string{"AccessKeyId", "Signature", "SignatureNonce", "Timestamp"} {
		if p.Get(name) == "" {
			return missing(name)
		}
	}
	switch {
	case p.Get("Version") != apiVersion:
		return newError("InvalidVersion")
	case p.Get("SignatureMethod") != "HMAC-SHA1":
		return invalid("SignatureMethod", "Only HMAC-SHA1 is supported.")
	case p.Get("SignatureVersion") != "1.0":
		return invalid("SignatureVersion", "Only signature version 1.0 is supported.")
	case p.Get("Format") != "JSON":
		return invalid("Format", "The sandbox answers JSON only.")
	}
	return nil
}

// checkKey checks the AccessKey ID and, when one is configured, the STS
// token.
func (s *Server) checkKey(p url.Values) *apiError {
	if p.Get("AccessKeyId") != s.opts.AccessKeyID {
		return newError(codeAccessKeyNotFound)
	}
	switch token := p.Get("SecurityToken"); {
	case s.opts.SecurityToken == "":
		return nil
	case token == "":
		return newError("MissingSecurityToken")
	case token != s.opts.SecurityToken:
		return newError("InvalidSecurityToken.Malformed")
	}
	return nil
}

// checkTimestamp refuses a malformed timestamp or one more than
// timestampSkew away from the wall clock.
func checkTimestamp(ts string, wall time.Time) *apiError {
	t, err := time.Parse(timestampLayout, ts)
	if err != nil {
		return newError("InvalidTimeStamp.Format")
	}
	if d := wall.Sub(t); d > timestampSkew || d < -timestampSkew {
		return newError("InvalidTimeStamp.Expired")
	}
	return nil
}
