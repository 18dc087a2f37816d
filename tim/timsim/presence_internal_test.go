package timsim

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestPresenceStreamDisconnectsAfterGrace(t *testing.T) {
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
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/sim/events?presence=1&userID=alice", nil)
		resp, err := http.DefaultClient.Do(req) //nolint:bodyclose // closed when the stream is cancelled
		if err != nil {
			t.Fatal(err)
		}
		go func() { <-ctx.Done(); _ = resp.Body.Close() }()
		return cancel
	}
	first := open()
	second := open()
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
	s.mu.Lock()
	msgs := s.timelineLocked("alice").events
	s.mu.Unlock()
	if last := msgs[len(msgs)-1]; last.Kind != "state" || last.State != "Disconnect" {
		t.Errorf("last event got %+v, want a Disconnect state", last)
	}
}
