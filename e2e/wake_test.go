package e2e

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestAgentLoginWakesQueued: with every agent offline a customer who asks for a person is queued;
// the moment an agent logs in (State.StateChange → the desk's presence), the consultation is
// routed to them, long before its routing retry (2 minutes or more), even when visibility does not
// list the consultation as queued yet.
func TestAgentLoginWakesQueued(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	s := startStack(t, stackOptions{})
	agents := []string{"agent_emma", "agent_tom", "agent_zhang"}
	s.login(t, append([]string{"frank"}, agents...)...)
	for _, a := range agents {
		if err := postJSON(context.Background(), s.simURL+"/sim/logout", map[string]string{"userID": a}, nil); err != nil {
			t.Fatalf("logout %s: %v", a, err)
		}
	}
	// Presence reaches the desk workflow through the API; wait until routing sees everyone offline.
	s.send(t, "frank", "support", "我的包裹坏了，我要找人工")
	eventually(t, 30*time.Second, "frank queued", func() error {
		st, err := s.consultationState("frank")
		if err != nil {
			return err
		}
		if st.Status != "queued" {
			return errNotYet
		}
		return nil
	})
	// The agent logs in at once: visibility (which the wake-up lists the queue from) may not show
	// frank as queued yet — on PostgreSQL under load it trails by seconds — and the wake-up's
	// re-check (5 s later) finds him then.
	loggedIn := time.Now()
	s.login(t, "agent_tom")
	s.waitFor(t, "agent_tom", 30*time.Second, "relay to the agent who logged in", func(m simMessage) bool {
		return m.From == "frank" && strings.Contains(m.Text, "My parcel is broken, I want a human agent")
	})
	if waited := time.Since(loggedIn); waited > time.Minute {
		t.Errorf("the relay came %s after the login, want well before the 2 min routing retry", waited)
	}
	st, err := s.consultationState("frank")
	if err != nil {
		t.Fatal(err)
	}
	if st.Status != "human" || st.Agent != "agent_tom" {
		t.Errorf("state: status %q agent %q, want human with agent_tom", st.Status, st.Agent)
	}
}
