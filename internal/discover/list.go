package discover

import (
	"context"

	"github.com/rdonboard/rdonboard/internal/cloud"
	"github.com/rdonboard/rdonboard/internal/ctxwait"
)

// list pages through the members, sorts out what needs no GetAccount
// (other types, answers remembered from an earlier run) and hands the
// rest to the checkers.
func (r *run) list(ctx context.Context, jobs chan<- item) error {
	seen := map[string]bool{}
	index := 0
	for number := 1; ; number++ {
		page, err := r.page(ctx, number)
		if err != nil {
			return err
		}
		r.total.Store(int64(page.TotalCount))
		fresh := unseen(page.Accounts, seen)
		if err := r.dispatch(ctx, fresh, index, jobs); err != nil {
			return err
		}
		index += len(fresh)
		if len(page.Accounts) < cloud.MaxPageSize || number*cloud.MaxPageSize >= page.TotalCount {
			return nil
		}
	}
}

// page fetches one page of the listing, waiting out throttles and brief
// failures.
func (r *run) page(ctx context.Context, number int) (cloud.AccountPage, error) {
	var page cloud.AccountPage
	err := r.retry(ctx, func() (err error) {
		if r.opts.Folder != "" {
			page, err = r.p.Caller.ListAccountsForParent(ctx, r.opts.Folder, number, cloud.MaxPageSize)
		} else {
			page, err = r.p.Caller.ListAccounts(ctx, number, cloud.MaxPageSize)
		}
		return err
	})
	return page, err
}

// unseen drops the accounts listed before: a member that moved while the
// listing went on may come twice.
func unseen(accounts []cloud.Account, seen map[string]bool) []cloud.Account {
	out := accounts[:0:0]
	for _, a := range accounts {
		if !seen[a.AccountID] {
			seen[a.AccountID] = true
			out = append(out, a)
		}
	}
	return out
}

// dispatch sends one page's members on: other types and remembered
// answers straight to the count, the rest to the checkers. first is the
// listing index of accounts[0].
func (r *run) dispatch(ctx context.Context, accounts []cloud.Account, first int, jobs chan<- item) error {
	known, err := r.memo.recall(ctx, resourceIDs(accounts))
	if err != nil {
		return err
	}
	for i, a := range accounts {
		it := item{index: first + i, acct: a}
		hasPhone, remembered := known[a.AccountID]
		switch {
		case a.Type != cloud.AccountTypeResource:
			err = ctxwait.Send(ctx, r.results, outcome{item: it})
		case remembered:
			err = ctxwait.Send(ctx, r.results, outcome{item: it, resource: true, hasPhone: hasPhone, remembered: true})
		default:
			err = ctxwait.Send(ctx, jobs, it)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// resourceIDs returns the IDs of the resource accounts among accounts.
func resourceIDs(accounts []cloud.Account) []string {
	var ids []string
	for _, a := range accounts {
		if a.Type == cloud.AccountTypeResource {
			ids = append(ids, a.AccountID)
		}
	}
	return ids
}
