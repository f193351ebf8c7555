package httpapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/rdonboard/rdonboard/internal/member"
)

// MembersLimit is how many members GET /v1/members answers when the
// request names no limit; MaxMembersLimit is the most it answers at once.
// A page is one JSON array; the next one is named by the Link header
// (rel="next") and X-Next-Cursor, absent on the last page.
const (
	MembersLimit    = 1000
	MaxMembersLimit = 10000
)

// listCursor is where the next page starts: after position After of the
// index of Batch and State. Batches go by name, states in member.States
// order, an index in its own order, so a page never depends on an offset.
type listCursor struct {
	Batch string       `json:"b"`
	State member.State `json:"s"`
	After member.Cursor
}

func (c listCursor) encode() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

var errBadCursor = errors.New("cursor is not one this API handed out; start again without it")

func decodeCursor(s string, f member.Filter) (*listCursor, error) {
	if s == "" {
		return nil, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	var c listCursor
	if err != nil || json.Unmarshal(raw, &c) != nil || c.Batch == "" || !slices.Contains(member.States, c.State) {
		return nil, errBadCursor
	}
	if (f.Batch != "" && f.Batch != c.Batch) || (f.State != "" && f.State != c.State) {
		return nil, fmt.Errorf("cursor belongs to other batch or state filters; send the filters it came with")
	}
	return &c, nil
}

// listQuery is a GET /v1/members request read from its query.
type listQuery struct {
	filter member.Filter
	from   *listCursor
	limit  int
}

func parseListQuery(q url.Values) (listQuery, error) {
	lq := listQuery{filter: member.Filter{Batch: q.Get("batch")}, limit: MembersLimit}
	if s := q.Get("state"); s != "" {
		st, err := member.ParseState(s)
		if err != nil {
			return lq, err
		}
		lq.filter.State = st
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxMembersLimit {
			return lq, fmt.Errorf("limit %q: give a whole number from 1 to %d", s, MaxMembersLimit)
		}
		lq.limit = n
	}
	var err error
	lq.from, err = decodeCursor(q.Get("cursor"), lq.filter)
	return lq, err
}

func (a *API) listMembers(w http.ResponseWriter, r *http.Request) {
	lq, err := parseListQuery(r.URL.Query())
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	ms, next, err := a.membersPage(r.Context(), lq)
	if err != nil {
		a.unavailable(w, err)
		return
	}
	if next != nil {
		q := r.URL.Query()
		q.Set("cursor", next.encode())
		q.Set("limit", strconv.Itoa(lq.limit))
		w.Header().Set("Link", "</v1/members?"+q.Encode()+`>; rel="next"`)
		w.Header().Set("X-Next-Cursor", next.encode())
	}
	views := make([]member.View, len(ms))
	for i, m := range ms {
		views[i] = m.View(false)
	}
	writeJSON(w, http.StatusOK, views)
}

// membersPage reads up to lq.limit members from lq.from on, index page by
// index page, and the cursor of the rest (nil when none is left).
func (a *API) membersPage(ctx context.Context, lq listQuery) ([]member.Member, *listCursor, error) {
	batches := []string{lq.filter.Batch}
	if lq.filter.Batch == "" {
		var err error
		if batches, err = a.p.Store.Batches(ctx); err != nil {
			return nil, nil, err
		}
	}
	states := member.States
	if lq.filter.State != "" {
		states = []member.State{lq.filter.State}
	}
	var out []member.Member
	taken := 0
	for _, b := range batches {
		for _, st := range states {
			after, skip := lq.from.start(b, st)
			if skip {
				continue
			}
			for {
				n := min(lq.limit-taken, member.PageSize)
				page, err := a.p.Store.IndexPage(ctx, b, st, after, member.NoLimit, n)
				if err != nil {
					return nil, nil, err
				}
				ms, err := a.p.Store.GetMany(ctx, entryIDs(page))
				if err != nil {
					return nil, nil, err
				}
				out, taken = append(out, ms...), taken+len(page)
				if len(page) < n {
					break
				}
				last := page[len(page)-1]
				after = member.Cursor{Score: last.Score, ID: last.ID}
				if taken == lq.limit {
					return out, &listCursor{Batch: b, State: st, After: after}, nil
				}
			}
		}
	}
	return out, nil, nil
}

// start is where the index of batch b and state st begins for a page
// from c: skipped before the cursor's index, at its position in it, at the
// start after it.
func (c *listCursor) start(b string, st member.State) (after member.Cursor, skip bool) {
	switch {
	case c == nil || b > c.Batch:
		return member.Cursor{}, false
	case b < c.Batch:
		return member.Cursor{}, true
	case st == c.State:
		return c.After, false
	}
	return member.Cursor{}, slices.Index(member.States, st) < slices.Index(member.States, c.State)
}

func entryIDs(page []member.IndexEntry) []string {
	ids := make([]string, len(page))
	for i, e := range page {
		ids[i] = e.ID
	}
	return ids
}
