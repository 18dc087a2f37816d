package e2e

import (
	"strings"
	"testing"
	"time"
)

// TestTemporalCrash kills the Temporal dev server mid-conversation and restarts it on the same
// SQLite file: a message sent while Temporal is down fails visibly at the sender (never delivered
// raw, never lost silently), and after the restart every message is handled exactly once.
func TestTemporalCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	// A long accept timeout: the outage and the agent's resends must not look like an agent who
	// never answered (that escalation is TestConsultationEndToEnd's).
	s := startStack(t, stackOptions{fileBacked: true, acceptTimeout: 10 * time.Minute})
	s.login(t, "dave", "agent_emma", "agent_tom")

	s.sendUntilAccepted(t, 30*time.Second, "dave", "support", "我的包裹坏了，我要找人工")
	agent := s.waitForAny(t, []string{"agent_emma", "agent_tom"}, 30*time.Second, "relay to an agent", func(m simMessage) bool {
		return m.From == "dave" && strings.Contains(m.Text, "My parcel is broken, I want a human agent")
	})

	s.killTemporal(t)

	// The agent's reply cannot reach the workflow: the callback answers ErrorCode 1, so the agent's
	// app shows a failed send and the customer never gets the untranslated text in the wrong thread.
	if r := s.send(t, agent, "dave", "Please send me your order number."); r.ErrorCode == 0 {
		t.Errorf("agent send while Temporal is down: got success, want a failed send")
	}
	// The customer's message is refused too, so the customer's app shows it as failed, not lost.
	if r := s.send(t, "dave", "support", "怎么退货？"); r.ErrorCode == 0 {
		t.Errorf("customer send while Temporal is down: got success, want a failed send")
	}

	s.startTemporal(t)

	// Both resend; each is handled exactly once.
	s.sendUntilAccepted(t, 60*time.Second, agent, "dave", "Please send me your order number.")
	s.waitFor(t, "dave", 60*time.Second, "translated agent reply after the restart", func(m simMessage) bool {
		return m.From == "support" && m.Text == "请把您的订单号发给我。"
	})
	if r := s.send(t, "dave", "support", "怎么退货？"); r.ErrorCode != 0 {
		t.Fatalf("customer resend after the restart: got error %d %q", r.ErrorCode, r.ErrorInfo)
	}
	s.waitFor(t, agent, 60*time.Second, "customer message relayed after the restart", func(m simMessage) bool {
		return m.From == "dave" && strings.Contains(m.Text, "How do I return an item?")
	})
	time.Sleep(3 * time.Second)

	if n := s.count(t, "dave", func(m simMessage) bool { return m.From == "support" && m.Text == "请把您的订单号发给我。" }); n != 1 {
		t.Errorf("dave got the agent's reply %d times, want 1", n)
	}
	if n := s.count(t, "dave", func(m simMessage) bool { return m.From == agent }); n != 0 {
		t.Errorf("dave got %d untranslated messages straight from %s, want 0", n, agent)
	}
	if n := s.count(t, agent, func(m simMessage) bool {
		return m.From == "dave" && strings.Contains(m.Text, "How do I return an item?")
	}); n != 1 {
		t.Errorf("%s got the customer's message %d times, want 1", agent, n)
	}
}
