package sandbox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
)

// DefaultDirectoryID names a directory that gives no ID of its own.
const DefaultDirectoryID = "rd-sandbox"

// Directory is the Resource Directory the sandbox answers ListAccounts,
// ListAccountsForParent and GetAccount from (sandbox --directory FILE,
// LoadDirectory): nested folders, each holding members. As JSON:
//
//	{
//	  "id": "rd-3f2a",
//	  "root": {
//	    "id": "r-root", "name": "Root",
//	    "accounts": [{"id": "1000000000000001", "display_name": "management", "type": "CloudAccount"}],
//	    "folders": [{
//	      "id": "fd-prod", "name": "prod",
//	      "accounts": [
//	        {"id": "1000000000000002", "display_name": "支付-生产"},
//	        {"id": "1000000000000003", "display_name": "prod-db", "has_phone": true}
//	      ]
//	    }]
//	  }
//	}
//
// An account's type is ResourceAccount unless it says CloudAccount;
// has_phone means a secure phone is bound. With a directory, an account
// outside it does not exist (404 EntityNotExists.Account); the faults file
// still applies on top.
type Directory struct {
	// ID is the directory's ID; default DefaultDirectoryID.
	ID string `json:"id,omitempty"`
	// Root is the root folder.
	Root Folder `json:"root"`
}

// Folder is one folder of a Directory.
type Folder struct {
	ID       string             `json:"id"`
	Name     string             `json:"name,omitempty"`
	Accounts []DirectoryAccount `json:"accounts,omitempty"`
	Folders  []Folder           `json:"folders,omitempty"`
}

// DirectoryAccount is one member of a Directory.
type DirectoryAccount struct {
	ID          string `json:"id"`
	DisplayName string `json:"display_name,omitempty"`
	// Type is ResourceAccount (default) or CloudAccount.
	Type string `json:"type,omitempty"`
	// HasPhone: a secure phone is bound.
	HasPhone bool `json:"has_phone,omitempty"`
}

// DirectoryMember is a member as listed, with where it sits.
type DirectoryMember struct {
	DirectoryAccount
	// FolderID is the folder the member is directly in.
	FolderID string
	// Path is the member's ResourceDirectoryPath: the directory ID, the
	// folder IDs from the root down, and the member's ID, joined by /.
	Path string
}

// LoadDirectory reads and checks a directory file.
func LoadDirectory(path string) (*Directory, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("directory: %w", err)
	}
	d, err := ParseDirectory(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return d, nil
}

// ParseDirectory reads and checks a directory in the file format; unknown
// fields are refused.
func ParseDirectory(b []byte) (*Directory, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var d Directory
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("directory: %w", err)
	}
	if err := d.Validate(); err != nil {
		return nil, err
	}
	return &d, nil
}

// Validate reports what the sandbox cannot serve: a missing or repeated
// folder ID, an account ID that is not digits or appears twice, an
// unknown type.
func (d *Directory) Validate() error {
	folders, accounts := map[string]bool{}, map[string]bool{}
	var walk func(f Folder) error
	walk = func(f Folder) error {
		if f.ID == "" || folders[f.ID] {
			return fmt.Errorf("directory: folder %q: IDs must be given and distinct", f.ID)
		}
		folders[f.ID] = true
		for _, a := range f.Accounts {
			if err := a.validate(accounts); err != nil {
				return fmt.Errorf("directory: folder %s: %w", f.ID, err)
			}
		}
		for _, sub := range f.Folders {
			if err := walk(sub); err != nil {
				return err
			}
		}
		return nil
	}
	return walk(d.Root)
}

func (a DirectoryAccount) validate(seen map[string]bool) error {
	switch {
	case !isDigits(a.ID):
		return fmt.Errorf("account %q: the ID must be digits", a.ID)
	case seen[a.ID]:
		return fmt.Errorf("account %s appears twice", a.ID)
	case a.Type != "" && a.Type != TypeResourceAccount && a.Type != TypeCloudAccount:
		return fmt.Errorf("account %s: type %q: want %s or %s", a.ID, a.Type, TypeResourceAccount, TypeCloudAccount)
	}
	seen[a.ID] = true
	return nil
}

// Members returns every member in listing order: a folder's own members,
// then each of its folders' in turn, from the root.
func (d *Directory) Members() []DirectoryMember {
	var out []DirectoryMember
	var walk func(f Folder, path string)
	walk = func(f Folder, path string) {
		path += "/" + f.ID
		for _, a := range f.Accounts {
			if a.Type == "" {
				a.Type = TypeResourceAccount
			}
			out = append(out, DirectoryMember{DirectoryAccount: a, FolderID: f.ID, Path: path + "/" + a.ID})
		}
		for _, sub := range f.Folders {
			walk(sub, path)
		}
	}
	walk(d.Root, d.id())
	return out
}

func (d *Directory) id() string {
	if d.ID == "" {
		return DefaultDirectoryID
	}
	return d.ID
}

// directory is a Directory indexed for answering calls.
type directory struct {
	order   []string // account IDs in listing order
	members map[string]*DirectoryMember
	folders map[string][]string // folder ID: the account IDs directly in it
}

func newDirectory(d *Directory) *directory {
	ix := &directory{members: map[string]*DirectoryMember{}, folders: map[string][]string{}}
	var index func(f Folder)
	index = func(f Folder) {
		ix.folders[f.ID] = []string{}
		for _, sub := range f.Folders {
			index(sub)
		}
	}
	index(d.Root)
	for _, m := range d.Members() {
		ix.order = append(ix.order, m.ID)
		ix.members[m.ID] = &m
		ix.folders[m.FolderID] = append(ix.folders[m.FolderID], m.ID)
	}
	return ix
}
