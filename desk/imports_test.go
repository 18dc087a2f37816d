package desk

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestNoFrameworkImports: the domain package stays free of Temporal, Fiber and HTTP, and of every
// timdesk package but tim (its types).
func TestNoFrameworkImports(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("glob: %v %v", files, err)
	}
	fset := token.NewFileSet()
	for _, f := range files {
		file, err := parser.ParseFile(fset, f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range file.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			switch {
			case strings.HasPrefix(path, "go.temporal.io/"), strings.HasPrefix(path, "github.com/gofiber/"),
				strings.HasPrefix(path, "net/http"), strings.HasPrefix(path, "github.com/valyala/fasthttp"):
				t.Errorf("%s imports %s", f, path)
			case strings.HasPrefix(path, "github.com/timdesk/timdesk/") && path != "github.com/timdesk/timdesk/tim":
				t.Errorf("%s imports %s (desk may only use tim)", f, path)
			}
		}
	}
}
