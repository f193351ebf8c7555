package cloud

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/resourcemanager"
	"go.uber.org/zap"

	"github.com/rdonboard/rdonboard/internal/phone"
)

// FallbackCodeValidity is assumed for a sent code when the cloud's answer
// carries no readable ExpirationDate.
const FallbackCodeValidity = 5 * time.Minute

// SendCode asks the cloud to SMS a verification code to phone. An error of
// KindOutcomeUnknown means the SMS may have gone out.
func (s *SDK) SendCode(ctx context.Context, accountID, phoneNumber string) (SendResult, error) {
	req := resourcemanager.CreateSendVerificationCodeForBindSecureMobilePhoneRequest()
	req.AccountId, req.SecureMobilePhone = accountID, phoneNumber
	var resp *resourcemanager.SendVerificationCodeForBindSecureMobilePhoneResponse
	start := s.now()
	err := s.run(ctx, ActionSendCode, true, req.RpcRequest, func(rm *resourcemanager.Client) (err error) {
		resp, err = rm.SendVerificationCodeForBindSecureMobilePhone(req)
		return err
	})
	if err != nil {
		s.logCall(ActionSendCode, accountID, phoneNumber, start, "", err)
		return SendResult{}, err
	}
	res := SendResult{RequestID: resp.RequestId, ExpiresAt: expiry(resp.ExpirationDate, start)}
	s.logCall(ActionSendCode, accountID, phoneNumber, start, res.RequestID, nil)
	return res, nil
}

// expiry reads the cloud's ExpirationDate (2021-12-17T07:38:41.747Z),
// falling back to FallbackCodeValidity after sent.
func expiry(date string, sent time.Time) time.Time {
	if t, err := time.Parse(time.RFC3339Nano, date); err == nil {
		return t
	}
	return sent.Add(FallbackCodeValidity)
}

// Bind binds phone to the account with the code the person handed in. An
// error of KindOutcomeUnknown means the bind may have happened.
func (s *SDK) Bind(ctx context.Context, accountID, phoneNumber, code string) (BindResult, error) {
	req := resourcemanager.CreateBindSecureMobilePhoneRequest()
	req.AccountId, req.SecureMobilePhone, req.VerificationCode = accountID, phoneNumber, code
	var resp *resourcemanager.BindSecureMobilePhoneResponse
	start := s.now()
	err := s.run(ctx, ActionBind, true, req.RpcRequest, func(rm *resourcemanager.Client) (err error) {
		resp, err = rm.BindSecureMobilePhone(req)
		return err
	})
	if err != nil {
		s.logCall(ActionBind, accountID, phoneNumber, start, "", err)
		return BindResult{}, err
	}
	s.logCall(ActionBind, accountID, phoneNumber, start, resp.RequestId, nil)
	return BindResult{RequestID: resp.RequestId}, nil
}

// accountBody is the part of an account in an answer the project reads;
// the SDK's struct lacks HasSecureMobilePhone.
type accountBody struct {
	AccountID             string `json:"AccountId"`
	DisplayName           string `json:"DisplayName"`
	FolderID              string `json:"FolderId"`
	ResourceDirectoryPath string `json:"ResourceDirectoryPath"`
	Type                  string `json:"Type"`
	Status                string `json:"Status"`
	HasSecureMobilePhone  bool   `json:"HasSecureMobilePhone"`
}

// account is b as the project sees it.
func (b accountBody) account(requestID string) Account {
	return Account{AccountID: b.AccountID, DisplayName: b.DisplayName, FolderID: b.FolderID,
		ResourceDirectoryPath: b.ResourceDirectoryPath, Type: b.Type, Status: b.Status,
		HasSecureMobilePhone: b.HasSecureMobilePhone, RequestID: requestID}
}

// getAccountBody is GetAccount's answer.
type getAccountBody struct {
	RequestID string      `json:"RequestId"`
	Account   accountBody `json:"Account"`
}

// GetAccount reports the cloud's view of a member. It has no side effects,
// so a lost answer is KindTransient, never KindOutcomeUnknown.
func (s *SDK) GetAccount(ctx context.Context, accountID string) (Account, error) {
	req := resourcemanager.CreateGetAccountRequest()
	req.AccountId = accountID
	var resp *resourcemanager.GetAccountResponse
	start := s.now()
	err := s.run(ctx, ActionGetAccount, false, req.RpcRequest, func(rm *resourcemanager.Client) (err error) {
		resp, err = rm.GetAccount(req)
		return err
	})
	var acc Account
	if err == nil {
		acc, err = s.decodeAccount(resp.GetHttpContentBytes(), resp.GetHttpStatus())
	}
	s.logCall(ActionGetAccount, accountID, "", start, acc.RequestID, err)
	return acc, err
}

// decodeAccount reads GetAccount's answer.
func (s *SDK) decodeAccount(body []byte, status int) (Account, error) {
	var b getAccountBody
	if err := json.Unmarshal(body, &b); err != nil {
		return Account{}, &Error{Kind: KindTransient, Action: ActionGetAccount, Code: CodeBadResponse,
			Message: "decoding the answer: " + s.scrub(err.Error()), HTTPStatus: status}
	}
	return b.Account.account(b.RequestID), nil
}

// logCall writes one debug entry per call: never the code, the phone only
// masked.
func (s *SDK) logCall(action, accountID, phoneNumber string, start time.Time, requestID string, err error) {
	if ce := s.log.Check(zap.DebugLevel, "cloud call"); ce != nil {
		fields := []zap.Field{zap.String("action", action), zap.String("account_id", accountID),
			zap.Duration("took", s.now().Sub(start))}
		if phoneNumber != "" {
			fields = append(fields, zap.String("phone", phone.Mask(phoneNumber)))
		}
		ce.Write(append(fields, outcomeFields(requestID, err)...)...)
	}
}

// outcomeFields describes a call's outcome for the log.
func outcomeFields(requestID string, err error) []zap.Field {
	var e *Error
	if errors.As(err, &e) {
		return []zap.Field{zap.String("kind", e.Kind.String()), zap.String("code", e.Code),
			zap.Int("http_status", e.HTTPStatus), zap.String("request_id", e.RequestID), zap.Error(err)}
	}
	return []zap.Field{zap.String("outcome", "ok"), zap.String("request_id", requestID)}
}
