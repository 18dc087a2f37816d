package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// repoRoot is the repository root seen from this package.
const repoRoot = "../.."

func paths(files []entry) []string {
	out := make([]string, len(files))
	for i, f := range files {
		out[i] = f.Path
	}
	return out
}

// mustTree writes files (slash paths, content = path) under a new temporary directory.
func mustTree(t *testing.T, files ...string) string {
	t.Helper()
	root := t.TempDir()
	for _, f := range files {
		p := filepath.Join(root, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(f), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// TestDockerignoreKeepsSecretsAndToolsOut applies the repository's .dockerignore to a tree that
// holds everything a developer's checkout has after `make run` and `make test`.
func TestDockerignoreKeepsSecretsAndToolsOut(t *testing.T) {
	ignore, err := os.ReadFile(filepath.Join(repoRoot, ".dockerignore"))
	if err != nil {
		t.Fatalf("the repository needs a .dockerignore: %v", err)
	}
	root := mustTree(t,
		"go.mod", "go.sum", "README.md", "Makefile",
		"api/main.go", "api/config.go", "api/config_test.go",
		"worker/main.go", "tim/timsim/page.html", "tim/testdata/fuzz/FuzzVerify/abc",
		"workflows/testdata/consultation.json", "workflows/replay_test.go",
		"deploy/Dockerfile", "deploy/demo/roster.yaml", "deploy/demo/faq.yaml", "deploy/timdesk.env.example",
		"deploy/timdesk.env", "e2e/harness_test.go",
		"bin/temporal", "bin/timdesk-api", "bin/npm/node_modules/tls-sig-api-v2/package.json",
		".data/dev.env", ".data/temporal.db", ".git/HEAD", ".git/objects/ab/cdef",
		"deploy/k8s/tls.key", "certs/server.pem", "api/api.test", "cover.out",
	)
	if err := os.WriteFile(filepath.Join(root, ".dockerignore"), ignore, 0o600); err != nil {
		t.Fatal(err)
	}
	files, err := contextFiles(root)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		".dockerignore", "Makefile", "README.md",
		"api/config.go", "api/main.go",
		"deploy/Dockerfile", "deploy/demo/faq.yaml", "deploy/demo/roster.yaml", "deploy/timdesk.env.example",
		"go.mod", "go.sum", "tim/timsim/page.html", "worker/main.go",
	}
	if got := paths(files); !slices.Equal(got, want) {
		t.Errorf("context =\n%v\nwant\n%v", got, want)
	}
	if err := check(files); err != nil {
		t.Errorf("check: %v", err)
	}
}

// TestCheckNamesForbiddenPaths: without a .dockerignore the listing holds bin/, .data/, .git/ and the
// env file, and check names each of them.
func TestCheckNamesForbiddenPaths(t *testing.T) {
	root := mustTree(t, "go.mod", "bin/temporal", ".data/dev.env", ".git/HEAD", "deploy/timdesk.env",
		"x/node_modules/a/index.js", "k/id_rsa", "deploy/timdesk.env.example")
	files, err := contextFiles(root)
	if err != nil {
		t.Fatal(err)
	}
	err = check(files)
	if !errors.Is(err, errForbidden) {
		t.Fatalf("check = %v, want errForbidden", err)
	}
	for _, p := range []string{"bin/temporal", ".data/dev.env", ".git/HEAD", "deploy/timdesk.env (", "x/node_modules/a/index.js", "k/id_rsa"} {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error lacks %s: %v", p, err)
		}
	}
	if strings.Contains(err.Error(), "timdesk.env.example") {
		t.Errorf("the example env file is not a secret: %v", err)
	}
}

func TestForbiddenReason(t *testing.T) {
	tests := []struct {
		path      string
		forbidden bool
	}{
		{"bin/temporal", true},
		{".data/dev.env", true},
		{".git/config", true},
		{".git", true}, // a worktree's .git file
		{"deploy/timdesk.env", true},
		{".env", true},
		{"a/b/node_modules/x.js", true},
		{"deploy/k8s/tls.key", true},
		{"server.pem", true},
		{"deploy/timdesk.env.example", false},
		{"binary/x.go", false},
		{"api/main.go", false},
		{"deploy/demo/roster.yaml", false},
	}
	for _, tt := range tests {
		if got := forbiddenReason(tt.path) != ""; got != tt.forbidden {
			t.Errorf("forbiddenReason(%q) forbidden = %v, want %v", tt.path, got, tt.forbidden)
		}
	}
}

// TestRepositoryContext lists the real checkout's build context: nothing forbidden (even with
// ./bin, ./.data and a worktree's .git present), everything deploy/Dockerfile copies is there, and
// no test or test data.
func TestRepositoryContext(t *testing.T) {
	var out bytes.Buffer
	if err := run(repoRoot, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	files, err := contextFiles(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	got := paths(files)
	for _, need := range []string{"go.mod", "go.sum", "api/main.go", "worker/main.go", "tim/timsim/cmd/timsim/main.go",
		"tim/timsim/page.html", "deploy/Dockerfile", "deploy/demo/roster.yaml", "deploy/demo/faq.yaml"} {
		if !slices.Contains(got, need) {
			t.Errorf("context lacks %s, which the image build needs", need)
		}
	}
	for _, p := range got {
		if strings.HasSuffix(p, "_test.go") || strings.Contains(p, "testdata/") {
			t.Errorf("context holds test file %s", p)
		}
	}
	if !strings.Contains(out.String(), "build context: ") {
		t.Errorf("no total line:\n%s", out.String())
	}
}
