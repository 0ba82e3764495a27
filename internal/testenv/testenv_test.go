package testenv

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"whistlegrid/internal/dbtest"
)

// lockingSQL matches statements (upper case, as this repository writes
// SQL) that take ACCESS EXCLUSIVE locks on tables. Under a running server
// such a statement can deadlock with the live hub's outbox read, which
// takes shared locks on events, whistles, clues and summons in its own
// order: TestStats failed so, with SQLSTATE 40P01 on its TRUNCATE.
var lockingSQL = regexp.MustCompile(`\b(TRUNCATE|ALTER\s+TABLE|DROP\s+TABLE|CREATE\s+(UNIQUE\s+)?INDEX|REINDEX|CLUSTER|VACUUM\s+FULL)\b`)

// startsServer names the calls that start a server with its background
// readers: from there on, a test must not run lockingSQL on the database.
var startsServer = map[string]bool{"Start": true, "Serve": true, "startInstance": true, "startLiveServer": true}

// TestNoTableLocksUnderARunningServer keeps the fix of that flaky test: in
// every test file, a function that starts a server, or reaches one through
// an Env's Pool, runs no table-locking statement after the start. Empty
// or reshape the database on DemoDB's pool first, then Serve it.
func TestNoTableLocksUnderARunningServer(t *testing.T) {
	root, err := dbtest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	files := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "node_modules") && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		files++
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			var body *ast.BlockStmt
			switch fn := n.(type) {
			case *ast.FuncDecl:
				body = fn.Body
			case *ast.FuncLit:
				body = fn.Body
			}
			if body == nil {
				return true
			}
			started := token.NoPos // where a server starts, or the first use of an Env's Pool
			ast.Inspect(body, func(n ast.Node) bool {
				switch x := n.(type) {
				case *ast.CallExpr:
					if name := calledName(x.Fun); startsServer[name] && (started == token.NoPos || x.Pos() < started) {
						started = x.Pos()
					}
				case *ast.SelectorExpr:
					if x.Sel.Name == "Pool" && isEnv(x.X) && (started == token.NoPos || x.Pos() < started) {
						started = x.Pos()
					}
				}
				return true
			})
			if started == token.NoPos {
				return true
			}
			ast.Inspect(body, func(n ast.Node) bool {
				if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING && lit.Pos() > started {
					if m := lockingSQL.FindString(lit.Value); m != "" {
						rel, _ := filepath.Rel(root, path)
						t.Errorf("%s:%d: %s after the server started at line %d: run it before Serve",
							rel, fset.Position(lit.Pos()).Line, m, fset.Position(started).Line)
					}
				}
				return true
			})
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 20 {
		t.Fatalf("read %d test files under %s; the walk missed the repository", files, root)
	}
}

// calledName is the name of a called function: Start for testenv.Start.
func calledName(fun ast.Expr) string {
	switch f := fun.(type) {
	case *ast.Ident:
		return f.Name
	case *ast.SelectorExpr:
		if pkg, ok := f.X.(*ast.Ident); ok && pkg.Name == "testenv" {
			return f.Sel.Name
		}
		if f.Sel.Name == "startInstance" || f.Sel.Name == "startLiveServer" {
			return f.Sel.Name
		}
	}
	return ""
}

// isEnv reports whether x names a running Env: env, or f.env, set.env.
func isEnv(x ast.Expr) bool {
	switch e := x.(type) {
	case *ast.Ident:
		return e.Name == "env"
	case *ast.SelectorExpr:
		return e.Sel.Name == "env"
	}
	return false
}
