package workflows

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"github.com/timdesk/timdesk/activities"
	"github.com/timdesk/timdesk/tim"
)

// Non-text elements as the API hands them over (Body as sent, Text = Body.Text()).
var (
	imageEl    = tim.MsgElement{MsgType: tim.MsgTypeImage, MsgContent: json.RawMessage(`{"UUID":"img1","ImageFormat":1,"ImageInfoArray":[{"Type":1,"URL":"https://example.com/a.jpg"}]}`)}
	fileEl     = tim.MsgElement{MsgType: tim.MsgTypeFile, MsgContent: json.RawMessage(`{"UUID":"f1","FileName":"invoice.pdf","Url":"https://example.com/f.pdf"}`)}
	soundEl    = tim.MsgElement{MsgType: tim.MsgTypeSound, MsgContent: json.RawMessage(`{"UUID":"s1","Second":4,"Url":"https://example.com/s.amr"}`)}
	videoEl    = tim.MsgElement{MsgType: tim.MsgTypeVideoFile, MsgContent: json.RawMessage(`{"VideoUUID":"v1","VideoUrl":"https://example.com/v.mp4"}`)}
	faceEl     = tim.MsgElement{MsgType: tim.MsgTypeFace, MsgContent: json.RawMessage(`{"Index":1,"Data":"smile"}`)}
	locationEl = tim.MsgElement{MsgType: tim.MsgTypeLocation, MsgContent: json.RawMessage(`{"Desc":"Shenzhen","Latitude":22.5,"Longitude":114.1}`)}
	customEl   = tim.CustomElem(`{"order":"A-42"}`, "order card", "")
)

// placeholder is the relay of a customer entry without text; a non-text element is forwarded instead.
const placeholder = agentNoticeMark + "(non-text message)"

// body builds a message body: the text element first (when text is not empty), then els.
func body(text string, els ...tim.MsgElement) tim.MsgBody {
	var b tim.MsgBody
	if text != "" {
		b = append(b, tim.TextElem(text))
	}
	return append(b, els...)
}

// customerBody signals a customer message carrying b.
func (h *harness) customerBody(d time.Duration, key string, b tim.MsgBody) {
	h.at(d, func() {
		h.env.SignalWorkflow(SignalMessage, InboundMessage{MsgKey: key, From: "cust1", To: "support", Body: b, Text: b.Text()})
	})
}

// agentBody sends an agent message carrying b through the update; the answer lands in want.
func (h *harness) agentBody(d time.Duration, key, from string, b tim.MsgBody, want *AgentMessageResult) {
	h.at(d, func() {
		h.env.UpdateWorkflow(UpdateAgentMessage, key, &testsuite.TestUpdateCallback{
			OnReject: func(err error) { h.t.Errorf("agent update rejected: %v", err) },
			OnAccept: func() {},
			OnComplete: func(v any, err error) {
				if err == nil && want != nil {
					*want = v.(AgentMessageResult)
				}
			},
		}, InboundMessage{MsgKey: key, From: from, To: "cust1", Body: b, Text: b.Text()})
	})
}

// sendLog describes one send for failure messages: "from→to text|[types] relay".
func sendLog(f *fakeActs) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, s := range f.sends {
		what := fmt.Sprintf("%q", s.Text)
		if len(s.Body) > 0 {
			var types []string
			for _, el := range s.Body {
				types = append(types, el.MsgType)
			}
			what = "[" + strings.Join(types, ",") + "]"
		}
		out = append(out, fmt.Sprintf("%s→%s %s relay=%v", s.From, s.To, what, s.Relay))
	}
	return out
}

// sendIndex is the position of the first send to `to` whose Body is exactly want (want nil: a
// text send of exactly text); -1 when there is none.
func sendIndex(f *fakeActs, to, text string, want tim.MsgBody) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, s := range f.sends {
		if s.To != to {
			continue
		}
		if want == nil && len(s.Body) == 0 && s.Text == text {
			return i
		}
		if want != nil && sameBody(s.Body, want) {
			return i
		}
	}
	return -1
}

func sameBody(a, b tim.MsgBody) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].MsgType != b[i].MsgType || string(a[i].MsgContent) != string(b[i].MsgContent) {
			return false
		}
	}
	return true
}

func (f *fakeActs) send(i int) activities.SendInput {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.sends[i]
}

// TestNonTextMessages covers non-text elements on every path: the AI's (attachments hand off,
// faces/locations/custom elements get the text-only notice), the queue's (attachments relayed on
// assignment), and mixed text + non-text in both directions (the non-text elements follow the
// text as a message of their own).
func TestNonTextMessages(t *testing.T) {
	unavailableFirst := func(f *fakeActs) {
		base := f.route
		f.route = func(in activities.RouteInput, n int) activities.RouteResult {
			if n == 1 {
				return activities.RouteResult{Decision: activities.DecisionUnavailable, Reason: "everyone busy"}
			}
			return base(in, n)
		}
	}
	// relayedToAgent: b reached agent_emma as a relay impersonating the customer.
	relayedToAgent := func(t *testing.T, f *fakeActs, b tim.MsgBody) int {
		t.Helper()
		i := sendIndex(f, "agent_emma", "", b)
		if i < 0 {
			t.Fatalf("%s never relayed to agent_emma; sends: %q", b[0].MsgType, sendLog(f))
		}
		if s := f.send(i); s.From != "cust1" || !s.Relay {
			t.Errorf("relay of %s = From %s relay %v, want From=cust1 relay (SyncOtherMachine=2)", b[0].MsgType, s.From, s.Relay)
		}
		return i
	}
	handedOff := func(trigger string) func(*testing.T, *fakeActs, ConsultationState) {
		return func(t *testing.T, f *fakeActs, st ConsultationState) {
			t.Helper()
			if st.Owner != OwnerAgent || st.Agent != "agent_emma" || st.LastRouting == nil || st.LastRouting.Trigger != trigger || st.HandoffReason != trigger {
				t.Errorf("owner=%s agent=%s routing=%+v, want a hand-off to agent_emma with trigger %q", st.Owner, st.Agent, st.LastRouting, trigger)
			}
			if f.find("cust1", "only read text") != nil {
				t.Error("the customer got the text-only notice for an attachment")
			}
			if f.find("cust1", "connect you") == nil {
				t.Errorf("the customer was not told a person is coming: %q", f.sentTo("cust1"))
			}
			if f.answers != 0 {
				t.Errorf("answerer called %d times for a message the AI cannot read", f.answers)
			}
		}
	}
	noticeOnly := func(t *testing.T, f *fakeActs, st ConsultationState) {
		t.Helper()
		if st.Owner != OwnerAI || len(f.routes) != 0 {
			t.Errorf("owner=%s routes=%d, want the AI to keep the consultation", st.Owner, len(f.routes))
		}
		if f.find("cust1", "only read text") == nil {
			t.Errorf("no text-only notice; customer got %q", f.sentTo("cust1"))
		}
	}

	cases := []struct {
		name  string
		setup func(*fakeActs)
		steps func(*harness)
		at    time.Duration // state snapshot (default 90 s: before the accept deadline escalates)
		check func(*testing.T, *fakeActs, ConsultationState)
	}{
		{
			name:  "ai: image alone hands off and reaches the agent",
			steps: func(h *harness) { h.customerBody(time.Second, "k1", body("", imageEl)) },
			check: func(t *testing.T, f *fakeActs, st ConsultationState) {
				handedOff(string(HandoffAttachment))(t, f, st)
				relayedToAgent(t, f, body("", imageEl))
				if sendIndex(f, "agent_emma", placeholder, nil) >= 0 {
					t.Errorf("a placeholder was relayed instead of (or besides) the image: %q", sendLog(f))
				}
				if h := f.find("agent_emma", "New consultation"); h == nil || !strings.Contains(h.Text, "attachment") || !strings.Contains(h.Text, "an image") {
					t.Errorf("hand-off header = %+v, want reason attachment and the summary naming the image", h)
				}
				if len(st.Transcript) == 0 || !sameBody(st.Transcript[0].Body, body("", imageEl)) || !st.Transcript[0].Delivered {
					t.Errorf("transcript[0] = %+v, want the image kept as Body and marked delivered", st.Transcript)
				}
			},
		},
		{
			name:  "ai: text with a file hands off; text then file relayed",
			steps: func(h *harness) { h.customerBody(time.Second, "k1", body("this invoice is wrong", fileEl)) },
			check: func(t *testing.T, f *fakeActs, st ConsultationState) {
				handedOff(string(HandoffAttachment))(t, f, st)
				text := sendIndex(f, "agent_emma", "this invoice is wrong", nil)
				file := relayedToAgent(t, f, body("", fileEl))
				if text < 0 || file != text+1 {
					t.Errorf("text relay at %d, file at %d: want the file right after the text; sends %q", text, file, sendLog(f))
				}
				if !strings.Contains(st.Summary, "this invoice is wrong") || !strings.Contains(st.Summary, "a file") {
					t.Errorf("summary = %q, want the attachment and the text", st.Summary)
				}
				if len(st.Transcript) == 0 || st.Transcript[0].Text != "this invoice is wrong" || !sameBody(st.Transcript[0].Body, body("", fileEl)) {
					t.Errorf("transcript[0] = %+v, want Text and the file (non-text elements only) as Body", st.Transcript)
				}
			},
		},
		{
			name:  "ai: voice message hands off",
			steps: func(h *harness) { h.customerBody(time.Second, "k1", body("", soundEl)) },
			check: func(t *testing.T, f *fakeActs, st ConsultationState) {
				handedOff(string(HandoffAttachment))(t, f, st)
				relayedToAgent(t, f, body("", soundEl))
			},
		},
		{
			name:  "ai: video with a face hands off; both elements relayed together",
			steps: func(h *harness) { h.customerBody(time.Second, "k1", body("", faceEl, videoEl)) },
			check: func(t *testing.T, f *fakeActs, st ConsultationState) {
				handedOff(string(HandoffAttachment))(t, f, st)
				relayedToAgent(t, f, body("", faceEl, videoEl))
			},
		},
		{
			name:  "ai: a face alone keeps the text-only notice",
			steps: func(h *harness) { h.customerBody(time.Second, "k1", body("", faceEl)) },
			check: noticeOnly,
		},
		{
			name:  "ai: a location alone keeps the text-only notice",
			steps: func(h *harness) { h.customerBody(time.Second, "k1", body("", locationEl)) },
			check: noticeOnly,
		},
		{
			name:  "ai: a custom element alone keeps the text-only notice",
			steps: func(h *harness) { h.customerBody(time.Second, "k1", body("", customEl)) },
			check: noticeOnly,
		},
		{
			name:  "ai: a location with a request for a human hands off and relays the location",
			steps: func(h *harness) { h.customerBody(time.Second, "k1", body("human please, I am here", locationEl)) },
			check: func(t *testing.T, f *fakeActs, st ConsultationState) {
				if st.Owner != OwnerAgent || st.LastRouting == nil || st.LastRouting.Trigger != "customer_requested" {
					t.Errorf("owner=%s routing=%+v, want hand-off customer_requested", st.Owner, st.LastRouting)
				}
				text := sendIndex(f, "agent_emma", "human please, I am here", nil)
				loc := relayedToAgent(t, f, body("", locationEl))
				if text < 0 || loc != text+1 {
					t.Errorf("text at %d, location at %d; sends %q", text, loc, sendLog(f))
				}
			},
		},
		{
			name:  "queued: attachments are relayed as messages on assignment",
			setup: unavailableFirst,
			at:    3 * time.Minute,
			steps: func(h *harness) {
				h.customer(time.Second, "k1", "human")
				h.customerBody(10*time.Second, "k2", body("", imageEl))
				h.customerBody(20*time.Second, "k3", body("and the invoice", fileEl))
			},
			check: func(t *testing.T, f *fakeActs, st ConsultationState) {
				if st.Agent != "agent_emma" || st.LastRouting.Trigger != "retry" {
					t.Fatalf("agent=%s routing=%+v, want agent_emma assigned on the retry", st.Agent, st.LastRouting)
				}
				img := relayedToAgent(t, f, body("", imageEl))
				text := sendIndex(f, "agent_emma", "and the invoice", nil)
				file := relayedToAgent(t, f, body("", fileEl))
				if first := sendIndex(f, "agent_emma", "human", nil); first < 0 || first >= img || img >= text || file != text+1 {
					t.Errorf("relay order human=%d image=%d text=%d file=%d, want the queued messages in order; sends %q", first, img, text, file, sendLog(f))
				}
				if sendIndex(f, "agent_emma", placeholder, nil) >= 0 {
					t.Errorf("placeholder relayed instead of the image: %q", sendLog(f))
				}
				for _, e := range st.Transcript {
					if e.Role == "customer" && !e.Delivered {
						t.Errorf("queued entry %+v not marked delivered after the relay", e)
					}
				}
			},
		},
		{
			name: "agent owns: a customer's text with an image is relayed as text then image",
			at:   3 * time.Minute,
			steps: func(h *harness) {
				h.customer(time.Second, "k1", "human")
				h.agent(time.Minute, "a1", "agent_emma", "Hello, what happened?", nil)
				h.customerBody(2*time.Minute, "k2", body("it arrived broken", imageEl))
			},
			check: func(t *testing.T, f *fakeActs, st ConsultationState) {
				text := sendIndex(f, "agent_emma", "it arrived broken", nil)
				img := relayedToAgent(t, f, body("", imageEl))
				if text < 0 || img != text+1 {
					t.Errorf("text at %d, image at %d; sends %q", text, img, sendLog(f))
				}
				if st.ReplyDeadline.IsZero() {
					t.Error("the customer's message did not start the reply deadline")
				}
			},
		},
		{
			name: "agent owns: an agent's text with an image reaches the customer as text then image",
			steps: func(h *harness) {
				h.customer(time.Second, "k1", "human")
				h.agentBody(time.Minute, "a1", "agent_emma", body("Here is the return label", imageEl), nil)
			},
			check: func(t *testing.T, f *fakeActs, st ConsultationState) {
				text := sendIndex(f, "cust1", "Here is the return label", nil)
				img := sendIndex(f, "cust1", "", body("", imageEl))
				if text < 0 || img != text+1 {
					t.Fatalf("text at %d, image at %d: want the image right after the text; sends %q", text, img, sendLog(f))
				}
				if s := f.send(img); s.From != "support" || s.Relay {
					t.Errorf("image to the customer From %s relay %v, want From=support, not a relay", s.From, s.Relay)
				}
				var e *TranscriptEntry
				for i := range st.Transcript {
					if st.Transcript[i].MsgKey == "a1" {
						e = &st.Transcript[i]
					}
				}
				if e == nil || e.Text != "Here is the return label" || !sameBody(e.Body, body("", imageEl)) || !e.Delivered {
					t.Errorf("agent entry = %+v, want the text, the image as Body, delivered", e)
				}
			},
		},
		{
			name: "agent owns: an agent's image alone is forwarded as before",
			steps: func(h *harness) {
				h.customer(time.Second, "k1", "human")
				h.agentBody(time.Minute, "a1", "agent_emma", body("", imageEl), nil)
			},
			check: func(t *testing.T, f *fakeActs, st ConsultationState) {
				if i := sendIndex(f, "cust1", "", body("", imageEl)); i < 0 || f.send(i).From != "support" {
					t.Errorf("image not forwarded From=support: %q", sendLog(f))
				}
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFake()
			if c.setup != nil {
				c.setup(f)
			}
			h := newHarness(t, f)
			c.steps(h)
			var st ConsultationState
			at := c.at
			if at == 0 {
				at = 90 * time.Second
			}
			h.snapshot(at, &st)
			h.at(5*time.Minute, func() { h.env.SignalWorkflow(SignalClose, CloseRequest{Reason: "x"}) })
			h.run(ConsultationInput{})
			c.check(t, f, st)
		})
	}
}

func TestTrimBodies(t *testing.T) {
	big := tim.MsgElement{MsgType: tim.MsgTypeCustom, MsgContent: json.RawMessage(`"` + strings.Repeat("x", 100<<10) + `"`)}
	entries := []TranscriptEntry{{Seq: 1, Body: body("", big)}, {Seq: 2, Text: "hi"}, {Seq: 3, Body: body("", big)}, {Seq: 4, Body: body("", big)}, {Seq: 5, Body: body("", imageEl)}}
	trimBodies(entries)
	for i, want := range []bool{true, false, false, false, false} {
		if got := entries[i].BodyDropped; got != want || (got && entries[i].Body != nil) {
			t.Errorf("entry %d: dropped=%v body=%d bytes, want dropped=%v", entries[i].Seq, got, bodySize(entries[i].Body), want)
		}
	}
	total := 0
	for _, e := range entries {
		total += bodySize(e.Body)
	}
	if total > maxTranscriptBodyBytes {
		t.Errorf("bodies kept = %d bytes, want at most %d", total, maxTranscriptBodyBytes)
	}
}

func TestAttachments(t *testing.T) {
	cases := []struct {
		body tim.MsgBody
		want string
	}{
		{body("hi"), ""},
		{body("", faceEl, locationEl, customEl), ""},
		{body("", imageEl), "an image"},
		{body("x", imageEl, imageEl, fileEl), "an image and a file"},
		{body("", soundEl, videoEl, fileEl), "a voice message, a video and a file"},
	}
	for _, c := range cases {
		if got := attachments(c.body); got != c.want {
			t.Errorf("attachments(%v) = %q, want %q", c.body, got, c.want)
		}
	}
	if got := nonText(body("hi", faceEl, imageEl)); !sameBody(got, body("", faceEl, imageEl)) {
		t.Errorf("nonText = %v, want the face and the image", got)
	}
	if nonText(body("hi")) != nil {
		t.Error("nonText of a text-only body is not nil")
	}
}
