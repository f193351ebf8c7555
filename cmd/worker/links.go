package main

import (
	"context"
	"errors"
	"os"
	"strconv"
	"time"

	"github.com/rdonboard/rdonboard/internal/csvsafe"
	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/internal/web"
)

// printLinks prints the owner link of every phone that still has members
// to bind, as CSV: masked phone, accounts, url, expires_at. A phone whose
// members all belong to other batches than batch (when set) is left out.
func (a *app) printLinks(ctx context.Context, batch string) error {
	links := web.NewLinks(a.cfg.LinkSecret, nil)
	if links == nil {
		return web.ErrLinksOff
	}
	if err := a.connect(ctx, 10); err != nil {
		return err
	}
	defer a.rdb.Close()
	base := web.BaseURLFor(a.cfg.PublicURL, a.cfg.HTTPAddr, a.cfg.TLSCert != "")
	out := csvsafe.NewWriter(os.Stdout)
	_ = out.Write([]string{"mobile_phone", "accounts", "url", "expires_at"})
	store := member.New(a.rdb, member.Options{})
	err := store.ListPhones(ctx, func(phone string) error {
		ms, err := store.PhoneMembers(ctx, phone)
		if err != nil || !toBind(ms, batch) {
			return err
		}
		l, err := links.ForPhone(phone, len(ms), base)
		if err != nil {
			return err
		}
		return out.Write([]string{l.MobilePhone, strconv.Itoa(l.Accounts), l.URL, l.ExpiresAt.Format(time.RFC3339)})
	})
	out.Flush()
	return errors.Join(err, out.Error())
}

// toBind reports whether a member of ms (of batch, when set) is not yet
// terminal.
func toBind(ms []member.Member, batch string) bool {
	for _, m := range ms {
		if !m.State.Terminal() && (batch == "" || m.Batch == batch) {
			return true
		}
	}
	return false
}
