package main

import (
	"context"
	"encoding/csv"
	"errors"
	"os"
	"time"

	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/internal/web"
)

// printLinks prints the self-service link of every member of batch (all
// when empty) waiting for a code, as CSV: account_id, masked phone, url,
// expires_at.
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
	out := csv.NewWriter(os.Stdout)
	_ = out.Write([]string{"account_id", "mobile_phone", "url", "expires_at"})
	store := member.New(a.rdb, member.Options{})
	err := store.Scan(ctx, member.Filter{Batch: batch, State: member.CodeSent}, func(ms []member.Member) error {
		for _, m := range ms {
			l, err := links.For(m, base)
			if errors.Is(err, member.ErrNotWaiting) {
				continue // its code expired a moment ago; a resend follows
			}
			if err != nil {
				return err
			}
			_ = out.Write([]string{l.AccountID, l.MobilePhone, l.URL, l.ExpiresAt.Format(time.RFC3339)})
		}
		return nil
	})
	out.Flush()
	return errors.Join(err, out.Error())
}
