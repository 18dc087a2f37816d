package timsim

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestPresenceStreamDisconnectsAfterGrace: a presence stream counts from the moment its client
// sees it open (the count is taken before the headers go out); closing one of two streams leaves
// the user online, closing the last disconnects her after the grace.
func TestPresenceStreamDisconnectsAfterGrace(t *testing.T) {
	tests := []struct{ name, path string }{
		{"events", "/sim/events?presence=1&userID=alice"},
		{"stream", "/sim/stream?presence=1&users=alice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(Options{SDKAppID: 1400000000, SecretKey: "k"})
			s.presenceGrace = 50 * time.Millisecond
			srv := httptest.NewServer(s)
			defer srv.Close()
			defer func() { _ = s.Close() }()
			if err := s.Login(context.Background(), "alice", ""); err != nil {
				t.Fatal(err)
			}
			open := func() context.CancelFunc {
				ctx, cancel := context.WithCancel(context.Background())
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+tt.path, nil)
				resp, err := http.DefaultClient.Do(req) //nolint:bodyclose // closed when the stream is cancelled
				if err != nil {
					t.Fatal(err)
				}
				go func() { <-ctx.Done(); _ = resp.Body.Close() }()
				return cancel
			}
			streams := func() int { s.mu.Lock(); defer s.mu.Unlock(); return s.presence["alice"] }
			first := open()
			if n := streams(); n != 1 {
				t.Fatalf("presence streams counted once the first is open: %d, want 1", n)
			}
			second := open()
			if n := streams(); n != 2 {
				t.Fatalf("presence streams counted once the second is open: %d, want 2", n)
			}
			first()
			time.Sleep(200 * time.Millisecond)
			if !s.Online("alice") {
				t.Fatal("alice went offline while another presence stream was open")
			}
			second()
			deadline := time.Now().Add(3 * time.Second)
			for s.Online("alice") {
				if time.Now().After(deadline) {
					t.Fatal("alice still online after her last presence stream closed")
				}
				time.Sleep(20 * time.Millisecond)
			}
			if n := streams(); n != 0 {
				t.Errorf("presence streams counted after both closed: %d, want 0", n)
			}
			s.mu.Lock()
			msgs := s.timelineLocked("alice").events
			s.mu.Unlock()
			if last := msgs[len(msgs)-1]; last.Kind != "state" || last.State != "Disconnect" {
				t.Errorf("last event got %+v, want a Disconnect state", last)
			}
		})
	}
}
