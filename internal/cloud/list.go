package cloud

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/resourcemanager"
)

// listBody is the answer of ListAccounts and ListAccountsForParent.
type listBody struct {
	RequestID  string `json:"RequestId"`
	TotalCount int    `json:"TotalCount"`
	PageNumber int    `json:"PageNumber"`
	PageSize   int    `json:"PageSize"`
	Accounts   struct {
		Account []accountBody `json:"Account"`
	} `json:"Accounts"`
}

// ListAccounts returns one page of the directory's members. It has no side
// effects: a lost answer is KindTransient.
func (s *SDK) ListAccounts(ctx context.Context, pageNumber, pageSize int) (AccountPage, error) {
	if err := checkPage(ActionListAccounts, pageNumber, pageSize); err != nil {
		return AccountPage{}, err
	}
	req := resourcemanager.CreateListAccountsRequest()
	req.PageNumber, req.PageSize = requests.NewInteger(pageNumber), requests.NewInteger(pageSize)
	return s.list(ctx, ActionListAccounts, req.RpcRequest, func(rm *resourcemanager.Client) ([]byte, int, error) {
		return rawAnswer(rm.ListAccounts(req))
	})
}

// ListAccountsForParent returns one page of the members directly in
// folderID.
func (s *SDK) ListAccountsForParent(ctx context.Context, folderID string, pageNumber, pageSize int) (AccountPage, error) {
	if err := checkPage(ActionListAccountsForParent, pageNumber, pageSize); err != nil {
		return AccountPage{}, err
	}
	req := resourcemanager.CreateListAccountsForParentRequest()
	req.ParentFolderId = folderID
	req.PageNumber, req.PageSize = requests.NewInteger(pageNumber), requests.NewInteger(pageSize)
	return s.list(ctx, ActionListAccountsForParent, req.RpcRequest, func(rm *resourcemanager.Client) ([]byte, int, error) {
		return rawAnswer(rm.ListAccountsForParent(req))
	})
}

// checkPage refuses paging the cloud would refuse, before any call.
func checkPage(action string, pageNumber, pageSize int) error {
	if pageNumber < 1 || pageSize < 1 || pageSize > MaxPageSize {
		return &Error{Kind: KindPermanent, Action: action, Code: "InvalidParameter.Paging",
			Message: fmt.Sprintf("page %d of %d: want a page from 1 and 1..%d to a page", pageNumber, pageSize, MaxPageSize)}
	}
	return nil
}

// lister runs one listing action and returns its raw answer.
type lister func(rm *resourcemanager.Client) (body []byte, status int, err error)

// httpAnswer is the part of an SDK response a listing reads.
type httpAnswer interface {
	GetHttpContentBytes() []byte
	GetHttpStatus() int
}

// rawAnswer is a listing's raw answer from the SDK's response and error: no
// body and no status when the call failed.
func rawAnswer(resp httpAnswer, err error) (body []byte, status int, _ error) {
	if err != nil {
		return nil, 0, err
	}
	return resp.GetHttpContentBytes(), resp.GetHttpStatus(), nil
}

// list runs a listing action and reads its answer.
func (s *SDK) list(ctx context.Context, action string, req *requests.RpcRequest, fn lister) (AccountPage, error) {
	var body []byte
	var status int
	start := s.now()
	err := s.run(ctx, action, false, req, func(rm *resourcemanager.Client) (err error) {
		body, status, err = fn(rm)
		return err
	})
	var page AccountPage
	if err == nil {
		page, err = s.decodePage(action, body, status)
	}
	s.logCall(action, "", "", start, page.RequestID, err)
	return page, err
}

// decodePage reads a listing's answer.
func (s *SDK) decodePage(action string, body []byte, status int) (AccountPage, error) {
	var b listBody
	if err := json.Unmarshal(body, &b); err != nil {
		return AccountPage{}, &Error{Kind: KindTransient, Action: action, Code: CodeBadResponse,
			Message: "decoding the answer: " + s.scrub(err.Error()), HTTPStatus: status}
	}
	page := AccountPage{TotalCount: b.TotalCount, PageNumber: b.PageNumber, PageSize: b.PageSize, RequestID: b.RequestID,
		Accounts: make([]Account, len(b.Accounts.Account))}
	for i, a := range b.Accounts.Account {
		page.Accounts[i] = a.account("")
	}
	return page, nil
}
