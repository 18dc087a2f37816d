// Package chat holds timdesk's customer chat page, built from src/ by esbuild into dist/ (see
// README.md, "The customer chat page"); the API serves it at /chat/.
package chat

import (
	"embed"
	"io/fs"
)

//go:embed dist
var dist embed.FS

// Files is the built page: index.html, app.js and style.css at the root.
func Files() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // "dist" is embedded above, so Sub cannot fail
	}
	return sub
}
