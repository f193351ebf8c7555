package sandbox

import (
	"fmt"
	"math/rand/v2"
)

// DirectorySpec describes a directory for GenerateDirectory.
type DirectorySpec struct {
	// Accounts is the number of members.
	Accounts int
	// Width folders under each folder, Depth levels of them below the
	// root; defaults 3 and 2.
	Width, Depth int
	// CloudEvery makes every CloudEvery-th member (1-based) a CloudAccount;
	// 0: none.
	CloudEvery int
	// BoundEvery gives every BoundEvery-th member a bound phone; 0: none.
	// A member that is both is a CloudAccount with a phone.
	BoundEvery int
	// FirstID is the first account ID; default 1100000000000000.
	FirstID int64
}

// generatedNames are the display names of generated members in turn:
// Chinese, English, and characters a CSV or a spreadsheet must take care
// of (a comma, a quote, a leading = that a spreadsheet would run).
var generatedNames = []string{"成员-财务-%05d", "member-%05d", "生产环境 %05d", "测试, 开发 %05d", `"引号" %05d`, "=HYPERLINK(\"x\") %05d"}

// GenerateDirectory builds a directory of spec.Accounts members spread at
// random (from a fixed seed) over the root and its nested folders, for tests and benchmarks. It
// depends on spec only.
func GenerateDirectory(spec DirectorySpec) *Directory {
	if spec.Width <= 0 {
		spec.Width = 3
	}
	if spec.Depth <= 0 {
		spec.Depth = 2
	}
	if spec.FirstID == 0 {
		spec.FirstID = 1_100_000_000_000_000
	}
	d := &Directory{ID: "rd-gen", Root: Folder{ID: "r-gen", Name: "Root"}}
	folders := []*Folder{&d.Root}
	folders = growFolders(&d.Root, spec.Width, spec.Depth, folders)
	// A fixed seed: the same spec gives the same directory, with types and
	// phones spread over the folders independently of where members go.
	rng := rand.New(rand.NewPCG(uint64(spec.Accounts), uint64(spec.FirstID)))
	for i := range spec.Accounts {
		f := folders[rng.IntN(len(folders))]
		f.Accounts = append(f.Accounts, generatedAccount(spec, i))
	}
	return d
}

// growFolders adds width folders under f, depth levels down, and returns
// all the folders with the new ones appended.
func growFolders(f *Folder, width, depth int, all []*Folder) []*Folder {
	if depth == 0 {
		return all
	}
	f.Folders = make([]Folder, width)
	for i := range f.Folders {
		f.Folders[i] = Folder{ID: fmt.Sprintf("%s-%d", folderPrefix(f.ID), i), Name: fmt.Sprintf("部门 %d", i)}
	}
	for i := range f.Folders {
		all = append(all, &f.Folders[i])
		all = growFolders(&f.Folders[i], width, depth-1, all)
	}
	return all
}

// folderPrefix makes a child's ID from its parent's: r-gen has fd-gen-0.
func folderPrefix(parent string) string {
	if parent == "r-gen" {
		return "fd-gen"
	}
	return parent
}

// generatedAccount is member i of a generated directory.
func generatedAccount(spec DirectorySpec, i int) DirectoryAccount {
	a := DirectoryAccount{ID: fmt.Sprint(spec.FirstID + int64(i)), Type: TypeResourceAccount,
		DisplayName: fmt.Sprintf(generatedNames[i%len(generatedNames)], i)}
	if spec.CloudEvery > 0 && (i+1)%spec.CloudEvery == 0 {
		a.Type = TypeCloudAccount
	}
	a.HasPhone = spec.BoundEvery > 0 && (i+1)%spec.BoundEvery == 0
	return a
}
