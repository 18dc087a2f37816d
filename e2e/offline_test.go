package e2e

import (
	"strings"
	"testing"
	"time"
)

// demoRefundAnswer is the refund answer of deploy/demo/faq.yaml.
const demoRefundAnswer = "商品签收后 30 天内未使用可退货。请在“我的订单 → 退货”中发起申请，我们收到商品后 5-7 个工作日内原路退款。"

// TestOfflineDemo is `make run`'s demo: no LLM configured, the demo roster and FAQ. The offline FAQ
// answerer answers, a request for a human reaches an on-duty agent untranslated, and the state says
// translation is off rather than pretending.
func TestOfflineDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	s := startStack(t, stackOptions{offline: true})
	s.login(t, "erin", "agent_emma", "agent_li")

	s.sendUntilAccepted(t, 30*time.Second, "erin", "support", "怎么退货？")
	s.waitFor(t, "erin", 30*time.Second, "offline FAQ answer", func(m simMessage) bool {
		return m.From == "support" && m.Text == demoRefundAnswer
	})

	s.sendUntilAccepted(t, 30*time.Second, "erin", "support", "我要人工")
	s.waitForAny(t, []string{"agent_emma", "agent_li"}, 30*time.Second, "hand-off to an on-duty agent", func(m simMessage) bool {
		return m.From == "erin" && strings.Contains(m.Text, "我要人工")
	})

	state, err := s.consultationState("erin")
	if err != nil {
		t.Fatal(err)
	}
	if state.Owner != "agent" || state.Status != "human" || state.TranslationStatus != "off" {
		t.Errorf("state: got owner %q status %q translation %q, want agent, human, off", state.Owner, state.Status, state.TranslationStatus)
	}
	if len(state.Transcript) == 0 {
		t.Errorf("state: empty transcript")
	}
}
