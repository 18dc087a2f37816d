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
	signals    []string             // workflowID/runID/signal/reason
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
			resp.Executions = append(resp.Executions, &workflowpb.WorkflowExecutionInfo{
				Execution: &commonpb.WorkflowExecution{WorkflowId: id, RunId: "run-" + id},
				StartTime: timestamppb.New(w.started[id]),
			})
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
	return w.signalErr[id]
}

func TestWakeQueued(t *testing.T) {
	tests := []struct {
		name      string
		fake      *wakeFake
		in        WakeInput
		want      WakeResult
		wantErr   string
		wantCalls []string // workflow IDs signalled, in order
	}{
		{name: "all pages, each consultation once",
			fake: &wakeFake{pages: [][]string{{"consultation/a", "consultation/b"}, {"consultation/c", "consultation/a"}, {"consultation/d"}}},
			in:   WakeInput{Agent: "agent_li", Signal: "route_now"},
			want: WakeResult{Listed: 4, Signaled: 4, Pages: 3}, wantCalls: []string{"consultation/a", "consultation/b", "consultation/c", "consultation/d"}},
		{name: "nothing queued", fake: &wakeFake{}, in: WakeInput{Agent: "agent_li", Signal: "route_now"},
			want: WakeResult{Pages: 1}},
		{name: "closed meanwhile is gone, other errors counted",
			fake: &wakeFake{pages: [][]string{{"consultation/a", "consultation/b", "consultation/c"}}, signalErr: map[string]error{
				"consultation/a": serviceerror.NewNotFound("workflow execution already completed"),
				"consultation/b": serviceerror.NewUnavailable("try later"),
			}},
			in:   WakeInput{Agent: "agent_li", Signal: "route_now"},
			want: WakeResult{Listed: 3, Signaled: 1, Gone: 1, Failed: 1, Pages: 1}, wantCalls: []string{"consultation/a", "consultation/b", "consultation/c"}},
		{name: "listing failure is returned for a retry", fake: &wakeFake{listErr: errors.New("visibility unavailable")},
			in: WakeInput{Agent: "agent_li", Signal: "route_now"}, wantErr: "visibility unavailable"},
		{name: "signal name required", fake: &wakeFake{}, in: WakeInput{Agent: "agent_li"}, wantErr: "signal name is required"},
		{name: "the customer waiting longest is signalled first",
			fake: &wakeFake{pages: [][]string{{"consultation/new", "consultation/old"}, {"consultation/mid"}}, started: map[string]time.Time{
				"consultation/old": time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC),
				"consultation/mid": time.Date(2026, 12, 1, 9, 5, 0, 0, time.UTC),
				"consultation/new": time.Date(2026, 12, 1, 9, 9, 0, 0, time.UTC),
			}},
			in:   WakeInput{Agent: "agent_li", Signal: "route_now"},
			want: WakeResult{Listed: 3, Signaled: 3, Pages: 2}, wantCalls: []string{"consultation/old", "consultation/mid", "consultation/new"}},
		{name: "the re-check signals the consultations visibility showed late, once each",
			fake: &wakeFake{pages: [][]string{{"consultation/a", "consultation/b"}},
				recheck: [][]string{{"consultation/a", "consultation/c"}, {"consultation/b", "consultation/d"}}},
			in:        WakeInput{Agent: "agent_li", Signal: "route_now", Recheck: time.Millisecond},
			want:      WakeResult{Listed: 4, Rechecked: 2, Signaled: 4, Pages: 3},
			wantCalls: []string{"consultation/a", "consultation/b", "consultation/c", "consultation/d"}},
		{name: "no re-check unless asked",
			fake: &wakeFake{pages: [][]string{{"consultation/a"}}, recheck: [][]string{{"consultation/a", "consultation/b"}}},
			in:   WakeInput{Agent: "agent_li", Signal: "route_now"},
			want: WakeResult{Listed: 1, Signaled: 1, Pages: 1}, wantCalls: []string{"consultation/a"}},
		{name: "a failed re-check keeps the first pass and is not retried",
			fake: &wakeFake{pages: [][]string{{"consultation/a"}}, recheck: [][]string{{"consultation/b"}}, recheckErr: errors.New("visibility unavailable")},
			in:   WakeInput{Agent: "agent_li", Signal: "route_now", Recheck: time.Millisecond},
			want: WakeResult{Listed: 1, Signaled: 1, Pages: 1}, wantCalls: []string{"consultation/a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Router{Waker: tt.fake}
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
				if parts[2] != "" || parts[3] != "route_now" || parts[4] != "agent_li online" {
					t.Errorf("signal %q, want runID \"\", route_now, reason \"agent_li online\"", s)
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
	r := &Router{Waker: f}
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
