package workflows

import (
	"strings"
	"testing"
	"time"

	"github.com/timdesk/timdesk/activities"
)

// TestLongMessagesFitTencentLimit: a relay carries the translation and the original, which for a
// long customer message is more than Tencent accepts in one message (12 KB; sendmsg fails for
// good with 80002/93000, so the agent would never see it). Every text timdesk sends stays within
// maxSendTextBytes, keeping as much as fits: translation + original, else the translation, else
// the original.
func TestLongMessagesFitTencentLimit(t *testing.T) {
	long := strings.Repeat("请帮我查一下订单", 350) // 8,400 bytes: Tencent took it from the customer
	cases := []struct {
		name      string
		text      string
		wantStart string // the relay keeps this much
	}{
		{"short: translation and original", "我想定制一个蛋糕", "<en>我想定制一个蛋糕\n(zh: 我想定制一个蛋糕)"},
		{"long: the translation alone", long, "<en>" + long},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFake()
			f.answer = func(in activities.AnswerInput) (activities.AnswerResult, error) {
				return activities.AnswerResult{Action: activities.ActionHandoff, Reason: "not_in_faq", Source: "llm"}, nil
			}
			h := newHarness(t, f)
			h.customer(time.Second, "k1", "I would like to talk about my order")
			h.customer(time.Minute, "k2", c.text)
			h.at(2*time.Minute, func() { h.env.SignalWorkflow(SignalClose, CloseRequest{Reason: "done", By: "admin"}) })
			h.run(ConsultationInput{})
			relay := f.find("agent_emma", c.text[:12])
			if relay == nil {
				t.Fatalf("not relayed to agent_emma: %d sends", len(f.sends))
			}
			if !strings.HasPrefix(relay.Text, c.wantStart) {
				t.Errorf("relay = %.60q… (%d bytes), want it to start with %.60q…", relay.Text, len(relay.Text), c.wantStart)
			}
			for _, s := range f.sends {
				if n := jsonStringSize(s.Text) - 2; n > maxSendTextBytes {
					t.Errorf("send to %s is %d bytes JSON-encoded, over %d", s.To, n, maxSendTextBytes)
				}
			}
		})
	}
}

func TestFitText(t *testing.T) {
	big := strings.Repeat("x", maxSendTextBytes)
	cases := []struct {
		name       string
		candidates []string
		want       string
	}{
		{"first fits", []string{"a\n(zh: b)", "a", "b"}, "a\n(zh: b)"},
		{"second fits", []string{big + "!", "a", "b"}, "a"},
		{"the last fits", []string{big + "!", big + "?", big}, big},
		{"nothing fits: the last cut", []string{big + "!", strings.Repeat("长", maxSendTextBytes)}, strings.Repeat("长", (maxSendTextBytes-3)/3) + "…"},
		{"escaping counts", []string{strings.Repeat("<", maxSendTextBytes/2), "ok"}, "ok"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := fitText(c.candidates...)
			if got != c.want {
				t.Errorf("fitText = %.40q… (%d bytes), want %.40q… (%d bytes)", got, len(got), c.want, len(c.want))
			}
			if n := jsonStringSize(got) - 2; n > maxSendTextBytes {
				t.Errorf("fitText result is %d bytes encoded, over %d", n, maxSendTextBytes)
			}
		})
	}
}
