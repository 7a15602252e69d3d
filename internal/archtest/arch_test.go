// Package archtest holds the checks that keep the shape docs/architecture.md
// draws: rules in domain, short functions, the read models behind query.
// They read the repository's Go files as the compiler does (go/parser).
package archtest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// sources calls fn with every non-test Go file of the repository, parsed,
// and its path from the repository's root (bench/ is a module of its own).
func sources(t *testing.T, fn func(path string, fset *token.FileSet, f *ast.File)) {
	t.Helper()
	root := filepath.Join("..", "..")
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if d.IsDir() {
			if strings.HasPrefix(d.Name(), ".") && rel != "." || rel == "bench" || d.Name() == "testdata" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, p, nil, parser.ParseComments)
		if err != nil {
			return err
		}
		fn(filepath.ToSlash(rel), fset, f)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// No function of the program is longer than 70 lines (docs/architecture.md).
func TestFunctionsAreShort(t *testing.T) {
	sources(t, func(path string, fset *token.FileSet, f *ast.File) {
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			if n := fset.Position(fn.End()).Line - fset.Position(fn.Pos()).Line + 1; n > 70 {
				t.Errorf("%s: %s is %d lines (at most 70)", path, fn.Name.Name, n)
			}
		}
	})
}

var tierCode = regexp.MustCompile(`^"T[1-9]"$`)

// A tier's code is rulebook data: no code outside domain names one.
func TestTierCodesComeFromTheRulebooks(t *testing.T) {
	sources(t, func(path string, fset *token.FileSet, f *ast.File) {
		if strings.HasPrefix(path, "domain/") {
			return
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING && tierCode.MatchString(lit.Value) {
				t.Errorf("%s: the tier code %s restated (cpts.Rules.TierCodes, query.Rulebooks.Tiers)", fset.Position(lit.Pos()), lit.Value)
			}
			return true
		})
	})
}

// An event's data is decoded by its scheme's decoder, in domain: no other
// package unmarshals a .Data. Left out: eventstore (a backend's own
// records), notary (the offline proof verifier reads the "amount" member
// of the hashed data with no scheme at hand, by design) and natsserver
// (the Data of a NATS request, not of an event).
func TestEventDataIsDecodedInDomain(t *testing.T) {
	sources(t, func(path string, fset *token.FileSet, f *ast.File) {
		for _, mayDecode := range []string{"domain/", "notary/", "eventstore/", "internal/natsserver/"} {
			if strings.HasPrefix(path, mayDecode) {
				return
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || sel.Sel.Name != "Unmarshal" || len(call.Args) == 0 {
				return true
			}
			if arg, ok := call.Args[0].(*ast.SelectorExpr); ok && arg.Sel.Name == "Data" {
				t.Errorf("%s: an event's data decoded outside domain", fset.Position(call.Pos()))
			}
			return true
		})
	})
}

// The console and the commands reach the read models through query only
// (the commands rebuild and check them through internal/cli; the API's
// admin rebuild holds the Set serve gives it).
func TestFrontEndsGoThroughQuery(t *testing.T) {
	sources(t, func(path string, fset *token.FileSet, f *ast.File) {
		if !strings.HasPrefix(path, "console/") && !strings.HasPrefix(path, "cmd/") {
			return
		}
		for _, imp := range f.Imports {
			if p, _ := strconv.Unquote(imp.Path.Value); strings.HasSuffix(p, "/projections") {
				t.Errorf("%s imports %s: the front ends read through query", path, p)
			}
		}
	})
}

// cmd/ledger stays thin: the commands' glue, one file each; the CLI's
// machinery is internal/cli, the services their own packages.
func TestCmdIsThin(t *testing.T) {
	const limit = 2000
	lines := 0
	sources(t, func(path string, fset *token.FileSet, f *ast.File) {
		if strings.HasPrefix(path, "cmd/ledger/") {
			lines += fset.File(f.Pos()).LineCount()
		}
	})
	t.Logf("cmd/ledger: %d lines outside tests", lines)
	if lines == 0 || lines >= limit {
		t.Errorf("cmd/ledger has %d lines outside tests, want 1 to %d", lines, limit-1)
	}
}

// The repository's root is where this test expects it (a moved package
// would otherwise check nothing).
func TestRootIsFound(t *testing.T) {
	if _, err := os.Stat(filepath.Join("..", "..", "go.mod")); err != nil {
		t.Fatal(err)
	}
}
