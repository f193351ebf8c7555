package sandbox

import (
	"net/url"
	"strconv"
)

// Paging of the listings, as the API documents it.
const (
	defaultPageSize = 10
	maxPageSize     = 100
)

func isListing(action string) bool {
	return action == ActionListAccounts || action == ActionListAccountsForParent
}

// listing answers ListAccounts (every member) or ListAccountsForParent
// (the members directly in ParentFolderId), one page of them, after the
// global injected errors. The caller holds s.mu.
func (s *Server) listing(action string, p url.Values) (map[string]any, *apiError) {
	if e := fire(s.globalRules, action); e != nil {
		return nil, e
	}
	number, size, e := paging(p)
	if e != nil {
		return nil, e
	}
	ids, e := s.listed(action, p.Get("ParentFolderId"))
	if e != nil {
		return nil, e
	}
	page := []map[string]any{}
	for i := (number - 1) * size; i < len(ids) && i < number*size; i++ {
		page = append(page, s.describe(ids[i], s.account(ids[i]).typ()))
	}
	return map[string]any{"TotalCount": len(ids), "PageNumber": number, "PageSize": size,
		"Accounts": map[string]any{"Account": page}}, nil
}

// listed returns the account IDs a listing covers, in order.
func (s *Server) listed(action, folder string) ([]string, *apiError) {
	switch {
	case action == ActionListAccounts && s.dir == nil:
		return nil, nil
	case action == ActionListAccounts:
		return s.dir.order, nil
	case folder == "":
		return nil, missing("ParentFolderId")
	case s.dir == nil:
		return nil, newError(codeFolderNotFound)
	}
	ids, ok := s.dir.folders[folder]
	if !ok {
		return nil, newError(codeFolderNotFound)
	}
	return ids, nil
}

// paging reads PageNumber (default 1) and PageSize (default 10, at most
// 100).
func paging(p url.Values) (number, size int, e *apiError) {
	number, size = 1, defaultPageSize
	if v := p.Get("PageNumber"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return 0, 0, invalid("PageNumber", "The specified PageNumber is invalid.")
		}
		number = n
	}
	if v := p.Get("PageSize"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPageSize {
			return 0, 0, invalid("PageSize", "The specified PageSize is invalid: 1 to 100.")
		}
		size = n
	}
	return number, size, nil
}

// describe is an account as GetAccount and the listings show it, without
// HasSecureMobilePhone (which only GetAccount answers). The caller holds
// s.mu.
func (s *Server) describe(id, typ string) map[string]any {
	joined := s.started.UTC().Format(timestampLayout)
	name, folder, path, rd := "member-"+id, "fd-sandbox", "rd-sandbox/r-sandbox/fd-sandbox/"+id, "rd-sandbox"
	if m := s.dirMember(id); m != nil {
		name, folder, path, rd = m.DisplayName, m.FolderID, m.Path, s.opts.Directory.id()
	}
	return map[string]any{
		"AccountId":             id,
		"AccountName":           id + "@sandbox.onaliyun.com",
		"DisplayName":           name,
		"Type":                  typ,
		"Status":                "CreateSuccess",
		"JoinMethod":            "created",
		"JoinTime":              joined,
		"ModifyTime":            joined,
		"FolderId":              folder,
		"ResourceDirectoryId":   rd,
		"ResourceDirectoryPath": path,
	}
}

// dirMember is the directory's entry of id, or nil.
func (s *Server) dirMember(id string) *DirectoryMember {
	if s.dir == nil {
		return nil
	}
	return s.dir.members[id]
}
