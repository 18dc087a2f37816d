package desk

import (
	"go/build"
	"slices"
	"strings"
	"testing"
)

// TestNoFrameworkImports: the domain package stays free of Temporal, Fiber and HTTP — directly
// and through everything it imports — and of every timdesk package but tim/userid (the UserID
// rule).
func TestNoFrameworkImports(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range pkg.Imports {
		if strings.HasPrefix(path, "github.com/timdesk/timdesk/") && path != "github.com/timdesk/timdesk/tim/userid" {
			t.Errorf("desk imports %s (desk may only use tim/userid)", path)
		}
	}
	deps := transitiveImports(t, pkg)
	if !slices.Contains(deps, "fmt") || !slices.Contains(deps, "gopkg.in/yaml.v3") {
		t.Fatalf("transitive imports %v miss fmt or yaml: the walk is broken", deps)
	}
	for _, path := range deps {
		if forbidden(path) {
			t.Errorf("desk reaches %s (%v)", path, importChain(t, pkg, path))
		}
	}
}

// forbidden: Temporal, Fiber, fasthttp and net/http (and its subpackages).
func forbidden(path string) bool {
	for _, p := range []string{"go.temporal.io/", "github.com/gofiber/", "github.com/valyala/fasthttp"} {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return path == "net/http" || strings.HasPrefix(path, "net/http/")
}

// transitiveImports lists every package pkg reaches through its non-test imports, resolved as
// the go command would for this platform (vendored standard-library packages included).
func transitiveImports(t *testing.T, pkg *build.Package) []string {
	t.Helper()
	var out []string
	seen := map[string]bool{}
	var walk func(p *build.Package)
	walk = func(p *build.Package) {
		for _, path := range p.Imports {
			if path == "C" || path == "unsafe" {
				continue
			}
			dep, err := build.Import(path, p.Dir, 0)
			if err != nil {
				t.Fatalf("resolve %s from %s: %v", path, p.ImportPath, err)
			}
			if seen[dep.ImportPath] {
				continue
			}
			seen[dep.ImportPath] = true
			out = append(out, dep.ImportPath)
			walk(dep)
		}
	}
	walk(pkg)
	return out
}

// importChain is one path of imports from pkg to target, for the failure message.
func importChain(t *testing.T, pkg *build.Package, target string) []string {
	t.Helper()
	seen := map[string]bool{}
	var find func(p *build.Package) []string
	find = func(p *build.Package) []string {
		for _, path := range p.Imports {
			dep, err := build.Import(path, p.Dir, 0)
			if err != nil || seen[dep.ImportPath] {
				continue
			}
			seen[dep.ImportPath] = true
			if dep.ImportPath == target {
				return []string{path}
			}
			if rest := find(dep); rest != nil {
				return append([]string{path}, rest...)
			}
		}
		return nil
	}
	return find(pkg)
}
