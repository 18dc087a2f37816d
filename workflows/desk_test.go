package workflows

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"maps"
	"slices"
	"testing"
	"time"

	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/timdesk/timdesk/activities"
	"github.com/timdesk/timdesk/desk"
)

const deskRoster = "timezone: UTC\nagents:\n  - {id: agent_li, language: zh, shifts: [\"daily 00:00-24:00\"]}\nsupervisors: [boss]\n"

func newDeskEnv(t *testing.T, f *fakeActs) *testsuite.TestWorkflowEnvironment {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	env := suite.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(DeskWorkflow)
	env.RegisterActivity(f)
	env.SetStartTime(testStart)
	return env
}

func queryDesk(t *testing.T, env *testsuite.TestWorkflowEnvironment) desk.State {
	t.Helper()
	v, err := env.QueryWorkflow(QueryDesk)
	if err != nil {
		t.Fatal(err)
	}
	var st desk.State
	if err := v.Get(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

func TestDesk(t *testing.T) {
	env := newDeskEnv(t, newFake())
	var st desk.State
	var rejected, accepted error
	var version int
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(SignalPresence, desk.PresenceEvent{UserID: "agent_li", Online: true, At: testStart.Add(2 * time.Second)})
		// an older event delivered late does not win
		env.SignalWorkflow(SignalPresence, desk.PresenceEvent{UserID: "agent_li", Online: false, At: testStart.Add(time.Second)})
		env.SignalWorkflow(SignalPresence, desk.PresenceEvent{UserID: "agent_emma", Online: false, At: testStart})
		env.SignalWorkflow(SignalLanguage, desk.LanguagePreference{UserID: "cust1", Language: "zh-CN"})
		env.SignalWorkflow(SignalLanguage, desk.LanguagePreference{UserID: "cust2", Language: "ja"})
		env.SignalWorkflow(SignalLanguage, desk.LanguagePreference{UserID: "cust2", Language: ""})
	}, time.Second)
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(UpdateRoster, "bad", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { rejected = err }, OnAccept: func() {}, OnComplete: func(any, error) {},
		}, desk.RosterUpdate{YAML: "agents: ["})
		env.UpdateWorkflow(UpdateRoster, "good", &testsuite.TestUpdateCallback{
			OnReject:   func(err error) { accepted = err },
			OnAccept:   func() {},
			OnComplete: func(v any, err error) { version = v.(desk.RosterResult).Version },
		}, desk.RosterUpdate{YAML: deskRoster})
	}, 2*time.Second)
	env.RegisterDelayedCallback(func() { st = queryDesk(t, env) }, time.Minute)
	env.RegisterDelayedCallback(func() { env.CancelWorkflow() }, 2*time.Minute)
	env.ExecuteWorkflow(DeskWorkflow, DeskInput{})

	if rejected == nil || accepted != nil || version != 1 {
		t.Errorf("roster updates: bad rejected=%v good error=%v version=%d", rejected, accepted, version)
	}
	if p := st.Presence["agent_li"]; !p.Online {
		t.Errorf("agent_li presence = %+v, want online (late older event ignored)", p)
	}
	if p, ok := st.Presence["agent_emma"]; !ok || p.Online {
		t.Errorf("agent_emma presence = %+v", p)
	}
	if st.Languages["cust1"] != "zh" || st.Languages["cust2"] != "" {
		t.Errorf("languages = %v", st.Languages)
	}
	if st.RosterYAML != deskRoster || st.RosterVersion != 1 {
		t.Errorf("roster = %q v%d", st.RosterYAML, st.RosterVersion)
	}
}

// TestDeskRoutingQuery: the routing query returns presence, the roster override and the
// languages of the agents only — those asked for, those with a presence, and the override's —
// never the customers'.
func TestDeskRoutingQuery(t *testing.T) {
	env := newDeskEnv(t, newFake())
	var view desk.State
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(SignalPresence, desk.PresenceEvent{UserID: "agent_emma", Online: true, At: testStart})
		for user, lang := range map[string]string{"agent_emma": "fr", "agent_li": "de", "file_agent": "ja", "cust1": "zh", "cust2": "es"} {
			env.SignalWorkflow(SignalLanguage, desk.LanguagePreference{UserID: user, Language: lang})
		}
		env.SignalWorkflow(SignalLanguage, desk.LanguagePreference{UserID: "cust3", Language: "vi", Detected: true})
	}, time.Second)
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(UpdateRoster, "r1", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { t.Errorf("roster rejected: %v", err) }, OnAccept: func() {}, OnComplete: func(any, error) {},
		}, desk.RosterUpdate{YAML: deskRoster}) // agent_li, supervisor boss
	}, 2*time.Second)
	env.RegisterDelayedCallback(func() {
		v, err := env.QueryWorkflow(QueryRouting, []string{"file_agent", "boss"})
		if err == nil {
			err = v.Get(&view)
		}
		if err != nil {
			t.Errorf("routing query: %v", err)
		}
	}, time.Minute)
	env.RegisterDelayedCallback(func() { env.CancelWorkflow() }, 2*time.Minute)
	env.ExecuteWorkflow(DeskWorkflow, DeskInput{})

	want := map[string]string{"agent_emma": "fr", "agent_li": "de", "file_agent": "ja"}
	if !maps.Equal(view.Languages, want) {
		t.Errorf("routing languages = %v, want %v (asked, with presence, in the override; no customers)", view.Languages, want)
	}
	if len(view.Detected) != 0 || len(view.PreferredAt) != 0 {
		t.Errorf("routing view carries detected %v / preferredAt %v", view.Detected, view.PreferredAt)
	}
	if !view.Presence["agent_emma"].Online || view.RosterYAML != deskRoster || view.RosterVersion != 1 {
		t.Errorf("routing view presence %v roster v%d %q", view.Presence, view.RosterVersion, view.RosterYAML)
	}
}

func TestDeskContinuesAsNew(t *testing.T) {
	env := newDeskEnv(t, newFake())
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(SignalPresence, desk.PresenceEvent{UserID: "agent_li", Online: true, At: testStart})
		env.SignalWorkflow(SignalLanguage, desk.LanguagePreference{UserID: "cust1", Language: "en"})
		env.SignalWorkflow(SignalLanguage, desk.LanguagePreference{UserID: "cust3", Language: "ko"})
	}, time.Second)
	env.ExecuteWorkflow(DeskWorkflow, DeskInput{MaxEventsPerRun: 3, State: &desk.State{RosterYAML: deskRoster, RosterVersion: 4}})
	var can *workflow.ContinueAsNewError
	if err := env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("error = %v, want continue-as-new", err)
	}
	var next DeskInput
	if err := decodeCAN(can, &next); err != nil {
		t.Fatal(err)
	}
	st := next.State
	if st == nil || !st.Presence["agent_li"].Online || st.Languages["cust3"] != "ko" || st.RosterVersion != 4 || st.RosterYAML != deskRoster {
		t.Errorf("carried state = %+v (all events carried)", st)
	}
}

func TestDeskContinuesAsNewAfterUpdates(t *testing.T) {
	env := newDeskEnv(t, newFake())
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(UpdateRoster, "r1", &testsuite.TestUpdateCallback{OnReject: func(error) {}, OnAccept: func() {}, OnComplete: func(any, error) {}},
			desk.RosterUpdate{YAML: deskRoster})
	}, time.Second)
	env.ExecuteWorkflow(DeskWorkflow, DeskInput{MaxEventsPerRun: 1})
	var can *workflow.ContinueAsNewError
	if err := env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("error = %v, want continue-as-new", err)
	}
	var next DeskInput
	if err := decodeCAN(can, &next); err != nil {
		t.Fatal(err)
	}
	if next.State == nil || next.State.RosterVersion != 1 || next.State.RosterYAML != deskRoster {
		t.Errorf("carried state = %+v", next.State)
	}
}

// TestDeskWakesQueuedConsultations: an agent coming online (offline or unknown → online) runs
// WakeQueued with the route_now signal and the re-check (wakeRecheck); repeated or stale online
// events do not; a failed wake-up is logged and the desk goes on.
func TestDeskWakesQueuedConsultations(t *testing.T) {
	at := func(d time.Duration) time.Time { return testStart.Add(d) }
	tests := []struct {
		name     string
		events   []desk.PresenceEvent // all delivered at once, in order
		later    []desk.PresenceEvent // delivered a minute later
		wakeErr  error
		want     []string // agents of the WakeQueued calls, in order
		wantLast bool     // the last event's user is recorded online
	}{
		{name: "offline then online", events: []desk.PresenceEvent{{UserID: "agent_li", Online: false, At: at(0)}},
			later: []desk.PresenceEvent{{UserID: "agent_li", Online: true, At: at(time.Minute)}}, want: []string{"agent_li"}, wantLast: true},
		{name: "first seen online", events: []desk.PresenceEvent{{UserID: "agent_li", Online: true, At: at(0)}},
			want: []string{"agent_li"}, wantLast: true},
		{name: "online twice wakes once", events: []desk.PresenceEvent{{UserID: "agent_li", Online: true, At: at(0)}},
			later: []desk.PresenceEvent{{UserID: "agent_li", Online: true, At: at(time.Minute)}}, want: []string{"agent_li"}, wantLast: true},
		{name: "offline only", events: []desk.PresenceEvent{{UserID: "agent_li", Online: false, At: at(0)}}, want: nil},
		{name: "stale online ignored", events: []desk.PresenceEvent{{UserID: "agent_li", Online: false, At: at(time.Hour)}},
			later: []desk.PresenceEvent{{UserID: "agent_li", Online: true, At: at(time.Minute)}}, want: nil},
		{name: "burst coalesces into one more wake-up", events: []desk.PresenceEvent{
			{UserID: "agent_li", Online: true, At: at(0)}, {UserID: "agent_emma", Online: true, At: at(0)}, {UserID: "agent_sam", Online: true, At: at(0)},
		}, want: []string{"agent_li", "agent_sam"}, wantLast: true},
		{name: "failure logged, desk goes on", events: []desk.PresenceEvent{{UserID: "agent_li", Online: true, At: at(0)}},
			later: []desk.PresenceEvent{{UserID: "agent_emma", Online: true, At: at(time.Minute)}}, wakeErr: errors.New("visibility down"),
			want: []string{"agent_li", "agent_li", "agent_li", "agent_emma", "agent_emma", "agent_emma"}, wantLast: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake()
			if tt.wakeErr != nil {
				f.wake = func(context.Context, activities.WakeInput) (activities.WakeResult, error) {
					return activities.WakeResult{}, tt.wakeErr
				}
			}
			env := newDeskEnv(t, f)
			var st desk.State
			env.RegisterDelayedCallback(func() {
				for _, ev := range tt.events {
					env.SignalWorkflow(SignalPresence, ev)
				}
			}, time.Second)
			env.RegisterDelayedCallback(func() {
				for _, ev := range tt.later {
					env.SignalWorkflow(SignalPresence, ev)
				}
			}, time.Minute)
			env.RegisterDelayedCallback(func() { st = queryDesk(t, env) }, 30*time.Minute)
			env.RegisterDelayedCallback(func() { env.CancelWorkflow() }, time.Hour)
			env.ExecuteWorkflow(DeskWorkflow, DeskInput{})

			f.mu.Lock()
			var got []string
			for _, w := range f.wakes {
				got = append(got, w.Agent)
				if w.Signal != SignalRouteNow || w.Recheck != wakeRecheck {
					t.Errorf("wake signal = %q, re-check %s; want %q, %s", w.Signal, w.Recheck, SignalRouteNow, wakeRecheck)
				}
			}
			f.mu.Unlock()
			if !slices.Equal(got, tt.want) {
				t.Errorf("WakeQueued calls = %v, want %v", got, tt.want)
			}
			all := append(slices.Clone(tt.events), tt.later...)
			if last := all[len(all)-1]; tt.wantLast && !st.Presence[last.UserID].Online {
				t.Errorf("presence of %s = %+v, want online (the desk keeps running)", last.UserID, st.Presence[last.UserID])
			}
		})
	}
}

// TestDeskWakesTheQueueWhenASlotFrees: a freed slot and a new roster (capacity raised) wake the
// queued consultations; the freed slot after slotSettle, so visibility no longer counts it.
func TestDeskWakesTheQueueWhenASlotFrees(t *testing.T) {
	f := newFake()
	env := newDeskEnv(t, f)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(SignalSlotFreed, desk.SlotFreed{Agent: "agent_li", Consultation: "consultation/amy", Reason: "closed"})
	}, time.Minute)
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(UpdateRoster, "cap", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { t.Errorf("roster rejected: %v", err) }, OnAccept: func() {}, OnComplete: func(any, error) {},
		}, desk.RosterUpdate{YAML: deskRoster})
	}, 10*time.Minute)
	env.RegisterDelayedCallback(func() { env.CancelWorkflow() }, 20*time.Minute)
	env.ExecuteWorkflow(DeskWorkflow, DeskInput{})

	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.wakes) != 2 {
		t.Fatalf("wake-ups = %+v, want one for the freed slot and one for the roster", f.wakes)
	}
	if w := f.wakes[0]; w.Agent != "agent_li" || w.Reason != "agent_li free (closed)" || w.Signal != SignalRouteNow {
		t.Errorf("freed-slot wake-up = %+v", w)
	}
	if w := f.wakes[1]; w.Reason != "roster changed" {
		t.Errorf("roster wake-up = %+v", w)
	}
}

// TestDeskContinueAsNewOutlastsReplays: when Temporal suggests continuing as new, the desk waits
// until no replay of a presence callback it took can pass the signature check (replayWindow after
// the last one), unless its history is too long to wait.
func TestDeskContinueAsNewOutlastsReplays(t *testing.T) {
	const lastPresence = 30 * time.Second
	tests := []struct {
		name   string
		force  func(env *testsuite.TestWorkflowEnvironment)
		wantAt time.Duration
	}{
		{"quiet: replayWindow after the last presence", func(*testsuite.TestWorkflowEnvironment) {}, lastPresence + replayWindow},
		{"history too long to wait", func(env *testsuite.TestWorkflowEnvironment) { env.SetCurrentHistoryLength(forceContinueEvents) }, 40 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newDeskEnv(t, newFake())
			env.RegisterDelayedCallback(func() {
				env.SignalWorkflow(SignalPresence, desk.PresenceEvent{UserID: "agent_li", Online: true, At: testStart})
			}, time.Second)
			env.RegisterDelayedCallback(func() { env.SetContinueAsNewSuggested(true) }, 10*time.Second)
			env.RegisterDelayedCallback(func() {
				env.SignalWorkflow(SignalPresence, desk.PresenceEvent{UserID: "agent_li", Online: false, At: testStart.Add(lastPresence)})
			}, lastPresence)
			env.RegisterDelayedCallback(func() { tt.force(env) }, 40*time.Second)
			env.ExecuteWorkflow(DeskWorkflow, DeskInput{State: &desk.State{RosterYAML: deskRoster, RosterVersion: 1}})
			var can *workflow.ContinueAsNewError
			if err := env.GetWorkflowError(); !errors.As(err, &can) {
				t.Fatalf("error = %v, want continue-as-new", err)
			}
			if got := env.Now().Sub(testStart); got != tt.wantAt {
				t.Errorf("continued as new at +%s, want +%s", got, tt.wantAt)
			}
			var next DeskInput
			if err := decodeCAN(can, &next); err != nil {
				t.Fatal(err)
			}
			if next.State == nil || next.State.Presence["agent_li"].Online || next.State.RosterVersion != 1 {
				t.Errorf("carried state = %+v, want agent_li offline and the roster", next.State)
			}
		})
	}
}
