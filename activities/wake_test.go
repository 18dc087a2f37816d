package activities

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/timdesk/timdesk/desk"
)

// wakeFake is a hand-written WakeClient: pages of workflow IDs, signal errors by workflow ID.
type wakeFake struct {
	mu      sync.Mutex
	pages   [][]string // workflow IDs per page
	listErr error
	// recheck, when set, are the pages of every listing after the first (what visibility shows
	// by the re-check); recheckErr fails those listings.
	recheck    [][]string
	recheckErr error
	passes     int // listings started (requests without a page token)
	signalErr  map[string]error
	requests   []*workflowservice.ListWorkflowExecutionsRequest
	started    map[string]time.Time // start time by workflow ID (zero when absent)
	// queuedSince is the TimdeskQueuedSince search attribute by workflow ID (absent: not set)
	queuedSince map[string]time.Time
	onSignal    func(id string) // called for each signal (a consultation routing, say)
	signals     []string        // workflowID/runID/signal/reason
}

func (w *wakeFake) ListWorkflow(_ context.Context, req *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.requests = append(w.requests, req)
	if len(req.GetNextPageToken()) == 0 {
		w.passes++
	}
	if w.listErr != nil {
		return nil, w.listErr
	}
	pages := w.pages
	if w.passes > 1 && w.recheck != nil {
		if w.recheckErr != nil {
			return nil, w.recheckErr
		}
		pages = w.recheck
	}
	i := 0
	if len(req.GetNextPageToken()) > 0 {
		if _, err := fmt.Sscanf(string(req.GetNextPageToken()), "page-%d", &i); err != nil {
			return nil, err
		}
	}
	resp := &workflowservice.ListWorkflowExecutionsResponse{}
	if i < len(pages) {
		for _, id := range pages[i] {
			ex := &workflowpb.WorkflowExecutionInfo{
				Execution: &commonpb.WorkflowExecution{WorkflowId: id, RunId: "run-" + id},
				StartTime: timestamppb.New(w.started[id]),
			}
			if q, ok := w.queuedSince[id]; ok {
				p, err := converter.GetDefaultDataConverter().ToPayload(q)
				if err != nil {
					return nil, err
				}
				ex.SearchAttributes = &commonpb.SearchAttributes{IndexedFields: map[string]*commonpb.Payload{desk.QueuedSinceAttribute: p}}
			}
			resp.Executions = append(resp.Executions, ex)
		}
	}
	if i+1 < len(pages) {
		resp.NextPageToken = []byte(fmt.Sprintf("page-%d", i+1))
	}
	return resp, nil
}

func (w *wakeFake) SignalWorkflow(_ context.Context, id, runID, signal string, arg any) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	ws, _ := arg.(desk.RouteNow)
	w.signals = append(w.signals, id+"/"+runID+"/"+signal+"/"+ws.Reason)
	if w.onSignal != nil {
		w.onSignal(id)
	}
	return w.signalErr[id]
}

// wakeRoster: two agents on duty 09:00–18:00 with ten slots between them, no supervisor.
const wakeRoster = `
timezone: Asia/Shanghai
agents:
  - {id: a1, capacity: 5, shifts: ["daily 09:00-18:00"]}
  - {id: a2, capacity: 5, shifts: ["daily 09:00-18:00"]}
`

// wakeRouter is a Router over f with wakeRoster (or roster), the desk state ds and agent loads,
// at now (10:00 in the roster's zone when zero).
func wakeRouter(t *testing.T, f *wakeFake, roster string, ds desk.State, load map[string]int, now time.Time) *Router {
	t.Helper()
	if roster == "" {
		roster = wakeRoster
	}
	ro := mustRoster(t, roster)
	if now.IsZero() {
		now = time.Date(2026, 11, 26, 10, 0, 0, 0, ro.Location())
	}
	return &Router{Waker: f, Temporal: &deskFake{desk: ds, load: load}, Roster: ro, DeskWorkflowID: "timdesk/desk", DeskQuery: "desk",
		Now: func() time.Time { return now }}
}

func TestWakeQueued(t *testing.T) {
	at := func(m int) time.Time { return time.Date(2026, 11, 26, 1, m, 0, 0, time.UTC) }
	taken := map[string]int{"a1": 5, "a2": 4} // a2's last slot, taken by the first consultation woken
	tests := []struct {
		name      string
		fake      *wakeFake
		roster    string
		desk      desk.State
		load      map[string]int
		now       time.Time
		in        WakeInput
		want      WakeResult
		wantErr   string
		wantCalls []string // workflow IDs signalled, in order
	}{
		{name: "all pages, each consultation once",
			fake: &wakeFake{pages: [][]string{{"consultation/a", "consultation/b"}, {"consultation/c", "consultation/a"}, {"consultation/d"}}},
			in:   WakeInput{Agent: "agent_li", Signal: "route_now"},
			want: WakeResult{Listed: 4, Slots: 10, Signaled: 4, Pages: 3}, wantCalls: []string{"consultation/a", "consultation/b", "consultation/c", "consultation/d"}},
		{name: "nothing queued", fake: &wakeFake{}, in: WakeInput{Agent: "agent_li", Signal: "route_now"},
			want: WakeResult{Pages: 1}},
		{name: "closed meanwhile is gone, other errors counted",
			fake: &wakeFake{pages: [][]string{{"consultation/a", "consultation/b", "consultation/c"}}, signalErr: map[string]error{
				"consultation/a": serviceerror.NewNotFound("workflow execution already completed"),
				"consultation/b": serviceerror.NewUnavailable("try later"),
			}},
			in:   WakeInput{Agent: "agent_li", Signal: "route_now"},
			want: WakeResult{Listed: 3, Slots: 10, Signaled: 1, Gone: 1, Failed: 1, Pages: 1}, wantCalls: []string{"consultation/a", "consultation/b", "consultation/c"}},
		{name: "listing failure is returned for a retry", fake: &wakeFake{listErr: errors.New("visibility unavailable")},
			in: WakeInput{Agent: "agent_li", Signal: "route_now"}, wantErr: "visibility unavailable"},
		{name: "signal name required", fake: &wakeFake{}, in: WakeInput{Agent: "agent_li"}, wantErr: "signal name is required"},
		{name: "the customer waiting longest is signalled first (queued since, not started)",
			fake: &wakeFake{pages: [][]string{{"consultation/new", "consultation/old"}, {"consultation/mid"}},
				started:     map[string]time.Time{"consultation/old": at(9), "consultation/mid": at(5), "consultation/new": at(0)},
				queuedSince: map[string]time.Time{"consultation/old": at(10), "consultation/mid": at(20), "consultation/new": at(30)}},
			in:   WakeInput{Agent: "agent_li", Signal: "route_now"},
			want: WakeResult{Listed: 3, Slots: 10, Signaled: 3, Pages: 2}, wantCalls: []string{"consultation/old", "consultation/mid", "consultation/new"}},
		{name: "one free slot wakes only the customer waiting longest",
			fake: &wakeFake{pages: [][]string{{"consultation/c", "consultation/a", "consultation/b"}},
				queuedSince: map[string]time.Time{"consultation/a": at(1), "consultation/b": at(2), "consultation/c": at(3)}},
			load: map[string]int{"a1": 5, "a2": 4},
			in:   WakeInput{Agent: "a2", Signal: "route_now"},
			want: WakeResult{Listed: 3, Slots: 1, Left: 2, Signaled: 1, Pages: 1}, wantCalls: []string{"consultation/a"}},
		{name: "an offline agent's and a full agent's capacity do not count",
			fake: &wakeFake{pages: [][]string{{"consultation/a", "consultation/b", "consultation/c"}},
				queuedSince: map[string]time.Time{"consultation/a": at(1), "consultation/b": at(2), "consultation/c": at(3)}},
			desk: desk.State{Presence: map[string]desk.Presence{"a1": {Online: false}}}, load: map[string]int{"a2": 3, "a1": 0},
			in:   WakeInput{Agent: "a2", Signal: "route_now"},
			want: WakeResult{Listed: 3, Slots: 2, Left: 1, Signaled: 2, Pages: 1}, wantCalls: []string{"consultation/a", "consultation/b"}},
		{name: "nobody on duty wakes nobody",
			fake: &wakeFake{pages: [][]string{{"consultation/a"}}}, now: time.Date(2026, 11, 26, 23, 0, 0, 0, mustRoster(t, wakeRoster).Location()),
			in:   WakeInput{Agent: "a2", Signal: "route_now"},
			want: WakeResult{Listed: 1, Left: 1, Pages: 1}},
		{name: "a supervisor not offline takes everyone: all woken, in line",
			fake: &wakeFake{pages: [][]string{{"consultation/b", "consultation/a"}},
				queuedSince: map[string]time.Time{"consultation/a": at(1), "consultation/b": at(2)}},
			roster: wakeRoster + "supervisors: [boss]\n", load: map[string]int{"a1": 5, "a2": 5},
			in:   WakeInput{Agent: "boss", Signal: "route_now"},
			want: WakeResult{Listed: 2, Slots: -1, Signaled: 2, Pages: 1}, wantCalls: []string{"consultation/a", "consultation/b"}},
		{name: "the re-check gives a slot still free to the next in line, and wakes those visibility showed late",
			fake: &wakeFake{pages: [][]string{{"consultation/a", "consultation/b"}},
				recheck:     [][]string{{"consultation/a", "consultation/c"}, {"consultation/b", "consultation/d"}},
				queuedSince: map[string]time.Time{"consultation/a": at(1), "consultation/b": at(2), "consultation/c": at(3), "consultation/d": at(4)}},
			load:      map[string]int{"a1": 5, "a2": 3}, // two slots: a and b; still two at the re-check (a and b could not use them)
			in:        WakeInput{Agent: "agent_li", Signal: "route_now", Recheck: time.Millisecond},
			want:      WakeResult{Listed: 4, Rechecked: 2, Slots: 2, Signaled: 4, Pages: 3},
			wantCalls: []string{"consultation/a", "consultation/b", "consultation/c", "consultation/d"}},
		{name: "the re-check wakes nobody when the slots were taken",
			fake: &wakeFake{pages: [][]string{{"consultation/a", "consultation/b"}}, recheck: [][]string{{"consultation/b"}},
				queuedSince: map[string]time.Time{"consultation/a": at(1), "consultation/b": at(2)},
				onSignal:    func(string) { taken["a2"]++ }},
			load: taken,
			in:   WakeInput{Agent: "agent_li", Signal: "route_now", Recheck: time.Millisecond},
			want: WakeResult{Listed: 2, Slots: 1, Left: 1, Signaled: 1, Pages: 2}, wantCalls: []string{"consultation/a"}},
		{name: "no re-check unless asked",
			fake: &wakeFake{pages: [][]string{{"consultation/a"}}, recheck: [][]string{{"consultation/a", "consultation/b"}}},
			in:   WakeInput{Agent: "agent_li", Signal: "route_now"},
			want: WakeResult{Listed: 1, Slots: 10, Signaled: 1, Pages: 1}, wantCalls: []string{"consultation/a"}},
		{name: "a failed re-check keeps the first pass and is not retried",
			fake: &wakeFake{pages: [][]string{{"consultation/a", "consultation/b"}}, recheck: [][]string{{"consultation/c"}}, recheckErr: errors.New("visibility unavailable"),
				queuedSince: map[string]time.Time{"consultation/a": at(1), "consultation/b": at(2)}},
			load: map[string]int{"a1": 5, "a2": 4},
			in:   WakeInput{Agent: "agent_li", Signal: "route_now", Recheck: time.Millisecond},
			want: WakeResult{Listed: 2, Slots: 1, Left: 1, Signaled: 1, Pages: 1}, wantCalls: []string{"consultation/a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := wakeRouter(t, tt.fake, tt.roster, tt.desk, tt.load, tt.now)
			env := activityEnv()
			register(env, r)
			v, err := env.ExecuteActivity(r.WakeQueued, tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got WakeResult
			if err := v.Get(&got); err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("result = %+v, want %+v", got, tt.want)
			}
			var ids []string
			for _, s := range tt.fake.signals {
				parts := strings.Split(s, "/")
				ids = append(ids, parts[0]+"/"+parts[1])
				// current run (""), the signal asked for, and why
				if parts[2] != "" || parts[3] != "route_now" || parts[4] != tt.in.Agent+" online" {
					t.Errorf("signal %q, want runID \"\", route_now, reason %q", s, tt.in.Agent+" online")
				}
			}
			if !slices.Equal(ids, tt.wantCalls) {
				t.Errorf("signalled %v, want %v", ids, tt.wantCalls)
			}
			for _, req := range tt.fake.requests {
				if req.GetPageSize() != wakePageSize || req.GetQuery() != `TimdeskStatus = "queued" AND ExecutionStatus = "Running"` {
					t.Errorf("list request page size %d query %q", req.GetPageSize(), req.GetQuery())
				}
			}
		})
	}
}

func TestWakeQueuedWithoutClient(t *testing.T) {
	r := &Router{}
	res, err := r.WakeQueued(context.Background(), WakeInput{Agent: "agent_li", Signal: "route_now"})
	if err != nil || res != (WakeResult{}) {
		t.Errorf("no client: %+v %v, want nothing woken", res, err)
	}
}

func TestWakeQueuedStopsAtThePageLimit(t *testing.T) {
	f := &wakeFake{}
	for i := range wakeMaxPages + 5 {
		f.pages = append(f.pages, []string{fmt.Sprintf("consultation/c%d", i)})
	}
	r := wakeRouter(t, f, wakeRoster+"supervisors: [boss]\n", desk.State{}, nil, time.Time{})
	res, err := r.WakeQueued(context.Background(), WakeInput{Agent: "agent_li", Signal: "route_now"})
	if err != nil || res.Pages != wakeMaxPages || res.Signaled != wakeMaxPages {
		t.Errorf("result %+v %v, want %d pages", res, err, wakeMaxPages)
	}
}

// TestRouteTimedOutAvailable: an unavailable decision names the timed-out agents who would
// otherwise be usable (the ladder is exhausted); offline or full ones are not named.
func TestRouteTimedOutAvailable(t *testing.T) {
	roster := mustRoster(t, routeRoster)
	day := time.Date(2026, 11, 26, 10, 0, 0, 0, roster.Location())
	all := []string{"a1", "a2", "a3", "boss"}
	tests := []struct {
		name string
		desk desk.State
		load map[string]int
		in   RouteInput
		want []string
	}{
		{name: "everyone timed out", in: RouteInput{Exclude: all}, want: all},
		{name: "offline and full ones are not available", in: RouteInput{Exclude: all},
			desk: desk.State{Presence: map[string]desk.Presence{"a1": {Online: false}, "boss": {Online: false}}}, load: map[string]int{"a3": 1},
			want: []string{"a2"}},
		{name: "nobody timed out", in: RouteInput{},
			desk: desk.State{Presence: map[string]desk.Presence{"a1": {}, "a2": {}, "a3": {}, "boss": {}}}, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Router{Temporal: &deskFake{desk: tt.desk, load: tt.load}, Roster: roster, DeskWorkflowID: "timdesk/desk", DeskQuery: "desk",
				Now: func() time.Time { return day }}
			res, err := r.Route(context.Background(), tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if res.Decision != DecisionUnavailable || !slices.Equal(res.TimedOutAvailable, tt.want) {
				t.Errorf("got %s %v (%s), want unavailable %v", res.Decision, res.TimedOutAvailable, res.Reason, tt.want)
			}
		})
	}
}
