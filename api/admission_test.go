package main

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/timdesk/timdesk/tim"
	"github.com/timdesk/timdesk/workflows"
)

// TestAdmissionShares: with limit 4 and some slots taken, each kind of work is admitted only
// within its share (message and presence 4, language 2); a message or presence change waits
// (here: a short deadline) before it is shed.
func TestAdmissionShares(t *testing.T) {
	tests := []struct {
		taken int
		w     work
		want  bool
	}{
		{0, workLanguage, true},
		{1, workLanguage, true},
		{2, workLanguage, false},
		{3, workPresence, true},
		{4, workPresence, false},
		{3, workMessage, true},
		{4, workMessage, false},
	}
	for _, tt := range tests {
		t.Run(tt.w.String()+"/"+strings.Repeat("x", tt.taken), func(t *testing.T) {
			reg := prometheus.NewRegistry()
			a, err := newAdmission(4, time.Hour, reg)
			if err != nil {
				t.Fatal(err)
			}
			for range tt.taken {
				if _, ok := a.admit(context.Background(), workMessage); !ok {
					t.Fatal("could not take a free slot")
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 40*time.Millisecond)
			defer cancel()
			done, ok := a.admit(ctx, tt.w)
			if ok != tt.want {
				t.Fatalf("admit(%s) with %d of 4 taken = %v, want %v", tt.w, tt.taken, ok, tt.want)
			}
			wantShed := 0.0
			if ok {
				done(nil)
				if got := a.inflightNow(); got != tt.taken {
					t.Errorf("after release %d slots taken, want %d", got, tt.taken)
				}
			} else {
				wantShed = 1
			}
			if got := gatheredValue(t, reg, "timdesk_admission_shed_total", "work", tt.w.String()); got != wantShed {
				t.Errorf("timdesk_admission_shed_total{work=%q} = %v, want %v", tt.w, got, wantShed)
			}
		})
	}
}

// TestAdmissionMessageWaitsForSlot: a message takes the slot a finishing call frees, in order.
func TestAdmissionMessageWaitsForSlot(t *testing.T) {
	a, err := newAdmission(1, time.Hour, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	hold, ok := a.admit(context.Background(), workMessage)
	if !ok {
		t.Fatal("first message not admitted")
	}
	time.AfterFunc(20*time.Millisecond, func() { hold(nil) })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	done, ok := a.admit(ctx, workMessage)
	if !ok {
		t.Fatal("message not admitted after the slot was freed")
	}
	done(nil)
	if n := a.inflightNow(); n != 0 {
		t.Errorf("%d calls in flight after both ended, want 0", n)
	}
}

// TestAdmissionAdapts: slow calls (over the target, or failed on their deadline) shrink the limit
// to the floor and no further; calls within the target grow it back to the maximum and no further.
func TestAdmissionAdapts(t *testing.T) {
	a, err := newAdmission(32, time.Nanosecond, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	call := func(took time.Duration, err error) {
		t.Helper()
		if _, ok := a.admit(context.Background(), workMessage); !ok {
			t.Fatal("no slot")
		}
		a.release(took, err)
	}
	for range 100 {
		call(time.Second, nil)
	}
	if got := a.limitNow(); got != 8 {
		t.Errorf("after slow calls limit = %d, want the floor 8 (a quarter of 32)", got)
	}
	a.target = time.Hour
	for range 2000 {
		call(time.Millisecond, nil)
	}
	if got := a.limitNow(); got != 32 {
		t.Errorf("after fast calls limit = %d, want the maximum 32", got)
	}
	a.lastShrink = time.Time{} // the last shrink was long ago
	call(time.Millisecond, context.DeadlineExceeded)
	if got := a.limitNow(); got >= 32 {
		t.Errorf("after a call that missed its deadline limit = %d, want below 32", got)
	}
}

// TestCallbackShedWhenSaturated: with every slot held by consultation signals Temporal has not
// answered, the next customer's message is refused (ErrorCode 1, decision shed) without a call to
// Temporal and within the budget; once the calls return, messages are signalled again.
func TestCallbackShedWhenSaturated(t *testing.T) {
	unblock := make(chan struct{})
	held := map[string]bool{workflows.ConsultationID("alice"): true, workflows.ConsultationID("bob"): true}
	env := newTestEnv(t, func(e *testEnv) {
		e.cfg.MaxInflight = 2
		// A budget long enough that carol's wait for a slot (half of it) and her answer fit in it
		// with room to spare on a loaded machine.
		e.cfg.CallbackBudget = 2 * time.Second
		e.temporal.signalWithStart = func(ctx context.Context, c call) error {
			if !strings.HasPrefix(c.ID, workflows.ConsultationIDPrefix) {
				return nil // desk signals (language records) answer at once
			}
			if held[c.ID] {
				// Alice's and bob's calls hold their slots until the test lets them go, past
				// their own deadlines: no slot frees while carol waits for one.
				<-unblock
				return nil
			}
			select { // any other message (carol's, were she not shed) gives up on its deadline
			case <-unblock:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	})
	cmd := tim.CmdC2CBeforeSendMsg
	var wg sync.WaitGroup
	for _, customer := range []string{"alice", "bob"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			env.do(t, http.MethodPost, goodURL(cmd), c2cBody(cmd, customer, "support", tim.MsgBody{tim.TextElem("where is my order")}, ""))
		}()
	}
	waitFor(t, func() bool { return len(env.temporal.ConsultationCalls("SignalWithStart")) == 2 })

	start := time.Now()
	r := env.do(t, http.MethodPost, goodURL(cmd), c2cBody(cmd, "carol", "support", tim.MsgBody{tim.TextElem("where is my order")}, ""))
	if cr := callbackAnswer(t, r); cr.ErrorCode != 1 {
		t.Errorf("saturated: ErrorCode = %d, want 1 (refused)", cr.ErrorCode)
	}
	if elapsed := time.Since(start); elapsed > env.cfg.CallbackBudget {
		t.Errorf("saturated: answered after %s, budget %s", elapsed, env.cfg.CallbackBudget)
	}
	if n := len(env.temporal.ConsultationCalls("SignalWithStart")); n != 2 {
		t.Errorf("saturated: %d consultation signals, want 2 (the shed message must not reach Temporal)", n)
	}
	if got := gatheredValue(t, env.registry, "timdesk_admission_shed_total", "work", "message"); got != 1 {
		t.Errorf("timdesk_admission_shed_total{work=message} = %v, want 1", got)
	}
	if got := gatheredValue(t, env.registry, "timdesk_callbacks_total", "decision", decisionShed); got != 1 {
		t.Errorf("timdesk_callbacks_total{decision=shed} = %v, want 1", got)
	}

	close(unblock)
	wg.Wait()
	r = env.do(t, http.MethodPost, goodURL(cmd), c2cBody(cmd, "dave", "support", tim.MsgBody{tim.TextElem("where is my order")}, ""))
	if cr := callbackAnswer(t, r); cr.ErrorCode != 0 {
		t.Errorf("after the calls returned: ErrorCode = %d, want 0", cr.ErrorCode)
	}
}

func (a *admission) inflightNow() int { a.mu.Lock(); defer a.mu.Unlock(); return a.inflight }
func (a *admission) limitNow() int    { a.mu.Lock(); defer a.mu.Unlock(); return int(a.limit) }

// gatheredValue sums the samples of metric name whose label has value.
func gatheredValue(t *testing.T, reg *prometheus.Registry, name, label, value string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label && l.GetValue() == value {
					sum += m.GetCounter().GetValue()
				}
			}
		}
	}
	return sum
}

// waitFor polls cond for up to five seconds.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached within 5 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
