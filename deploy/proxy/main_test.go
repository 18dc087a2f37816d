package main

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func TestParseBackends(t *testing.T) {
	tests := []struct {
		in      string
		want    int
		wantErr bool
	}{
		{"http://127.0.0.1:8081,http://127.0.0.1:8082", 2, false},
		{" http://a:1 , ", 1, false},
		{"", 0, true},
		{"127.0.0.1:8081", 0, true},
		{"ftp://a:1", 0, true},
	}
	for _, tt := range tests {
		got, err := parseBackends(tt.in)
		if (err != nil) != tt.wantErr || len(got) != tt.want {
			t.Errorf("parseBackends(%q) = %d backends, err %v; want %d, err %v", tt.in, len(got), err, tt.want, tt.wantErr)
		}
	}
}

// backend answers with its name and the path+query it saw.
func backend(t *testing.T, name string) *url.URL {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		_, _ = io.WriteString(w, name+" "+r.URL.RequestURI()+" "+string(b))
	}))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	return u
}

// deadBackend is a loopback address nothing listens on.
func deadBackend(t *testing.T) *url.URL {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	u, _ := url.Parse("http://" + addr)
	return u
}

func TestBalancer(t *testing.T) {
	a, b := backend(t, "a"), backend(t, "b")
	tests := []struct {
		name     string
		backends []*url.URL
		want     []string // the backend of each of 4 requests, "502" for a failure
	}{
		{"round robin", []*url.URL{a, b}, []string{"a", "b", "a", "b"}},
		{"a dead backend is skipped", []*url.URL{a, deadBackend(t)}, []string{"a", "a", "a", "a"}},
		{"all dead", []*url.URL{deadBackend(t)}, []string{"502", "502", "502", "502"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lb := httptest.NewServer(newBalancer(tt.backends, http.DefaultTransport, slog.New(slog.DiscardHandler)))
			defer lb.Close()
			for i, want := range tt.want {
				resp, err := http.Post(lb.URL+"/tim/callback?Sign=x", "application/json", strings.NewReader("{}"))
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				_ = resp.Body.Close()
				if want == "502" {
					if resp.StatusCode != http.StatusBadGateway {
						t.Errorf("request %d: HTTP %d, want 502", i, resp.StatusCode)
					}
					continue
				}
				if got := string(body); got != want+" /tim/callback?Sign=x {}" {
					t.Errorf("request %d: got %q, want backend %s with path, query and body", i, got, want)
				}
			}
		})
	}
}
