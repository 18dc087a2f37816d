package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// entry is one file of the build context: its slash-separated path relative to the root and size.
type entry struct {
	Path string
	Size int64
}

// errForbidden marks a build context that holds something it must not.
var errForbidden = errors.New("build context holds files it must not")

// contextFiles walks root like `docker build root` does: every regular file and symlink not
// excluded by root/.dockerignore (Docker's pattern rules, including `**` and `!` exceptions).
// A missing .dockerignore means nothing is excluded.
func contextFiles(root string) ([]entry, error) {
	var patterns []string
	f, err := os.Open(filepath.Join(root, ".dockerignore"))
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("open .dockerignore: %w", err)
	default:
		patterns, err = ignorefile.ReadAll(f)
		_ = f.Close()
		if err != nil {
			return nil, fmt.Errorf("read .dockerignore: %w", err)
		}
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		return nil, fmt.Errorf("parse .dockerignore: %w", err)
	}
	var files []entry
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		if rel == "." {
			return nil
		}
		rel = filepath.ToSlash(rel)
		excluded, err := pm.MatchesOrParentMatches(rel)
		if err != nil {
			return fmt.Errorf("match %s: %w", rel, err)
		}
		if excluded {
			// A directory whose contents no `!` exception can bring back is skipped whole.
			if d.IsDir() && !pm.Exclusions() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		files = append(files, entry{Path: rel, Size: info.Size()})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("walk %s: %w", root, err)
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	return files, nil
}

// forbiddenReason says why a context path must not reach the Docker daemon, or "" when it may.
func forbiddenReason(p string) string {
	first, _, _ := strings.Cut(p, "/")
	base := path.Base(p)
	switch {
	case first == "bin":
		return "bin/ holds local tools and binaries (hundreds of MB)"
	case first == ".data":
		return ".data/ holds local secrets (dev.env) and the dev Temporal database"
	case first == ".git":
		return ".git/ holds the whole history"
	case strings.Contains("/"+p+"/", "/node_modules/"):
		return "node_modules is a local npm install"
	case strings.HasSuffix(base, ".env") || base == ".env":
		return "an .env file holds secrets"
	case strings.HasSuffix(base, ".pem") || strings.HasSuffix(base, ".key") || strings.HasPrefix(base, "id_rsa") || strings.HasPrefix(base, "id_ed25519"):
		return "a private key or certificate"
	}
	return ""
}

// check returns errForbidden naming every forbidden path of files.
func check(files []entry) error {
	var bad []string
	for _, f := range files {
		if why := forbiddenReason(f.Path); why != "" {
			bad = append(bad, f.Path+" ("+why+")")
		}
	}
	if len(bad) == 0 {
		return nil
	}
	const show = 20
	more := ""
	if len(bad) > show {
		more = fmt.Sprintf("; and %d more", len(bad)-show)
		bad = bad[:show]
	}
	return fmt.Errorf("%w: %s%s; add them to .dockerignore", errForbidden, strings.Join(bad, "; "), more)
}

// run prints the build context of root (one line per file, then the total) and fails when it holds
// a forbidden path.
func run(root string, out io.Writer) error {
	files, err := contextFiles(root)
	if err != nil {
		return err
	}
	var total int64
	for _, f := range files {
		total += f.Size
		if _, err := fmt.Fprintf(out, "%10d  %s\n", f.Size, f.Path); err != nil {
			return fmt.Errorf("write listing: %w", err)
		}
	}
	if _, err := fmt.Fprintf(out, "build context: %d files, %.1f KiB\n", len(files), float64(total)/1024); err != nil {
		return fmt.Errorf("write listing: %w", err)
	}
	return check(files)
}
