package timsim

import (
	_ "embed"
	"net/http"
)

//go:embed page.html
var pageHTML []byte

// handlePage is GET /: the emulator's chat page (plain HTML and JavaScript, no external assets).
func (s *Server) handlePage(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(pageHTML)
}
