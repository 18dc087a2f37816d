package activities

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/worker"

	"github.com/timdesk/timdesk/tim"
	"github.com/timdesk/timdesk/tim/timsim"
)

// testClock is a settable clock for the emulator.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// pathRecorder is a tim.HTTPDoer that records the REST commands it forwards.
type pathRecorder struct {
	mu    sync.Mutex
	paths []string
}

func (p *pathRecorder) Do(r *http.Request) (*http.Response, error) {
	p.mu.Lock()
	p.paths = append(p.paths, r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:])
	p.mu.Unlock()
	return http.DefaultClient.Do(r)
}

func (p *pathRecorder) count(cmd string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, c := range p.paths {
		if c == cmd {
			n++
		}
	}
	return n
}

// attemptInfo makes activity.GetInfo report a retry: the attempt number and the first attempt's
// scheduling and this attempt's start, as the Temporal server would.
type attemptInfo struct {
	interceptor.WorkerInterceptorBase
	attempt            int32
	scheduled, started time.Time
}

func (a *attemptInfo) InterceptActivity(_ context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	in := &attemptInbound{info: a}
	in.Next = next
	return in
}

type attemptInbound struct {
	interceptor.ActivityInboundInterceptorBase
	info *attemptInfo
}

func (i *attemptInbound) Init(outbound interceptor.ActivityOutboundInterceptor) error {
	out := &attemptOutbound{info: i.info}
	out.Next = outbound
	return i.Next.Init(out)
}

type attemptOutbound struct {
	interceptor.ActivityOutboundInterceptorBase
	info *attemptInfo
}

func (o *attemptOutbound) GetInfo(ctx context.Context) activity.Info {
	info := o.Next.GetInfo(ctx)
	info.Attempt, info.ScheduledTime, info.StartedTime = o.info.attempt, o.info.scheduled, o.info.started
	return info
}

// TestSendRetryAfterDedupeWindow: the first attempt's sendmsg runs but its answer is lost; the
// retry comes after Tencent's 120 s dedupe window. The message must reach the recipient once,
// and the retry must report the first attempt's MsgKey.
func TestSendRetryAfterDedupeWindow(t *testing.T) {
	const secret = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e"
	cases := []struct {
		name        string
		in          SendInput
		firstFails  bool          // the first attempt's sendmsg ran but its answer was lost
		delay       time.Duration // from the first scheduling to the retry's start
		wantLookups int
		wantSends   int // sendmsg requests of the retry
		// local: the retry is a local activity run again by another worker after a crash: attempt 1,
		// scheduled just now, and only in.Since (set to the first attempt's time) tells its age.
		local bool
	}{
		{"reply: answer lost, retry 10 min later", SendInput{Key: "consultation/u1/r/3", To: "u1", Text: "hello"}, true, 10 * time.Minute, 1, 0, false},
		{"relay: answer lost, retry 25 min later", SendInput{Key: "consultation/u1/r/4", From: "u1", To: "agent_emma", Text: "hi", Relay: true}, true, 25 * time.Minute, 1, 0, false},
		{"nothing sent before: retry sends", SendInput{Key: "consultation/u1/r/5", To: "u1", Text: "again"}, false, 10 * time.Minute, 1, 1, false},
		{"retry inside the window relies on dedupe", SendInput{Key: "consultation/u1/r/6", To: "u1", Text: "soon"}, true, 30 * time.Second, 0, 1, false},
		{"local activity re-run 10 min later: Since says look first", SendInput{Key: "consultation/u1/r/7", To: "u1", Text: "local"}, true, 10 * time.Minute, 1, 0, true},
		{"local activity inside the window: no lookup", SendInput{Key: "consultation/u1/r/8", To: "u1", Text: "quick"}, false, 5 * time.Second, 0, 1, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clock := &testClock{t: time.Unix(1_800_000_000, 0)}
			sim := timsim.New(timsim.Options{SDKAppID: 1400000000, SecretKey: secret, Now: clock.Now, Accounts: []string{"support", "u1", "agent_emma"}})
			srv := httptest.NewServer(sim)
			t.Cleanup(func() { srv.Close(); _ = sim.Close() })
			rec := &pathRecorder{}
			cfg := tim.DefaultConfig(1400000000, secret, "administrator")
			cfg.BaseURL, cfg.HTTPClient, cfg.Now = srv.URL, rec, clock.Now
			im := &IM{Client: tim.NewClient(cfg), ServiceAccount: "support"}

			first := clock.Now()
			if c.firstFails {
				sim.AddFault(timsim.Fault{Command: "sendmsg", HTTPStatus: http.StatusBadGateway, AfterCommand: true, Times: 1})
				env := activityEnv()
				register(env, im)
				if _, err := env.ExecuteActivity(im.Send, c.in); err == nil {
					t.Fatal("first attempt: want the lost answer as an error")
				}
			}
			delivered := len(sim.Messages(c.in.To))
			clock.Advance(c.delay)

			info := &attemptInfo{attempt: 2, scheduled: first, started: clock.Now()}
			if c.local {
				info = &attemptInfo{attempt: 1, scheduled: clock.Now(), started: clock.Now()}
				c.in.Since = first
			}
			env := activityEnv()
			env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{info}})
			register(env, im)
			sendsBefore := rec.count("sendmsg")
			v, err := env.ExecuteActivity(im.Send, c.in)
			if err != nil {
				t.Fatalf("retry: %v", err)
			}
			var res SendResult
			if err := v.Get(&res); err != nil {
				t.Fatal(err)
			}
			msgs := sim.Messages(c.in.To)
			if len(msgs) != 1 {
				t.Fatalf("recipient got %d messages, want 1 (delivered before the retry: %d)", len(msgs), delivered)
			}
			if res.MsgKey == "" || res.MsgKey != msgs[0].MsgKey {
				t.Errorf("MsgKey got %q, want the delivered %q", res.MsgKey, msgs[0].MsgKey)
			}
			seq, rnd := tim.DeriveMsgIDs(c.in.Key)
			if res.MsgSeq != seq || res.MsgRandom != rnd || msgs[0].MsgSeq != seq || msgs[0].MsgRandom != rnd {
				t.Errorf("ids: result %d/%d, delivered %d/%d, want %d/%d", res.MsgSeq, res.MsgRandom, msgs[0].MsgSeq, msgs[0].MsgRandom, seq, rnd)
			}
			if res.Recovered != (c.wantSends == 0) {
				t.Errorf("Recovered got %v, want %v", res.Recovered, c.wantSends == 0)
			}
			if got := rec.count("admin_getroammsg"); got != c.wantLookups {
				t.Errorf("history lookups got %d, want %d", got, c.wantLookups)
			}
			if got := rec.count("sendmsg") - sendsBefore; got != c.wantSends {
				t.Errorf("retry sendmsg requests got %d, want %d", got, c.wantSends)
			}
		})
	}
}
