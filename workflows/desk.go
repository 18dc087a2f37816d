package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/timdesk/timdesk/activities"
	"github.com/timdesk/timdesk/desk"
)

// DeskWorkflowID is the ID of the single desk entity workflow (the worker starts it).
const DeskWorkflowID = "timdesk/desk"

// Message names of DeskWorkflow.
const (
	SignalPresence = "presence" // PresenceEvent
	SignalLanguage = "language" // LanguagePreference
	UpdateRoster   = "roster"   // RosterUpdate → RosterResult; the validator rejects invalid rosters
	QueryDesk      = "desk"     // DeskState
)

// DeskInput starts the desk (State is set by continue-as-new).
type DeskInput struct {
	State *desk.State `json:",omitempty"`
	// MaxEventsPerRun continues-as-new after this many signals and updates (test hook; 0 = when
	// Temporal suggests it).
	MaxEventsPerRun int `json:",omitempty"`
}

// DeskWorkflow keeps the desk's shared state: presence (State.StateChange), users' language
// preferences and the roster override (imported into Tencent IM when it changes).
func DeskWorkflow(ctx workflow.Context, in DeskInput) error {
	st := desk.NewState(in.State)
	events := 0
	logger := workflow.GetLogger(ctx)

	if err := workflow.SetQueryHandler(ctx, QueryDesk, func() (desk.State, error) { return st, nil }); err != nil {
		return err
	}
	err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateRoster,
		func(ctx workflow.Context, u desk.RosterUpdate) (desk.RosterResult, error) {
			events++
			st.RosterYAML = u.YAML
			st.RosterVersion++
			if u.YAML != "" {
				actx := activityCtx(ctx, 30*time.Second, 5*time.Minute, 0)
				if err := workflow.ExecuteActivity(actx, im.ImportRoster, u).Get(ctx, nil); err != nil {
					logger.Error("import roster accounts failed", "error", err)
				}
			}
			return desk.RosterResult{Version: st.RosterVersion}, nil
		},
		workflow.UpdateHandlerOptions{Validator: func(u desk.RosterUpdate) error {
			if u.YAML == "" {
				return nil
			}
			// Validators are never replayed (a rejection is not in history), and parsing is a
			// pure function of the YAML: safe here.
			_, err := desk.ParseRoster([]byte(u.YAML)) //workflowcheck:ignore
			return err
		}},
	)
	if err != nil {
		return err
	}

	// Wake-ups run one at a time in their own coroutine (presence keeps flowing); agents who come
	// online while one runs get one more wake-up after it, which covers them all.
	wakeRunning, wakeNext := false, ""
	wake := func(agent string) {
		if wakeRunning {
			wakeNext = agent
			return
		}
		wakeRunning = true
		workflow.Go(ctx, func(ctx workflow.Context) {
			defer func() { wakeRunning = false }()
			actx := activityCtx(ctx, 2*time.Minute, 5*time.Minute, 3)
			for agent != "" {
				var res activities.WakeResult
				err := workflow.ExecuteActivity(actx, router.WakeQueued, activities.WakeInput{Agent: agent, Signal: SignalRouteNow}).Get(ctx, &res)
				if err != nil {
					logger.Error("waking queued consultations failed; they route at their next retry", "agent", agent, "error", err)
				} else {
					logger.Info("woke queued consultations", "agent", agent, "signaled", res.Signaled, "listed", res.Listed)
				}
				agent, wakeNext = wakeNext, ""
			}
		})
	}

	presenceCh := workflow.GetSignalChannel(ctx, SignalPresence)
	languageCh := workflow.GetSignalChannel(ctx, SignalLanguage)
	onPresence := func(ev desk.PresenceEvent) {
		events++
		if st.ApplyPresence(ev) {
			wake(ev.UserID) // the API records presence of roster agents only
		}
	}
	onLanguage := func(p desk.LanguagePreference) {
		events++
		st.ApplyLanguage(p)
	}
	pumpSignals(ctx, presenceCh, onPresence)
	pumpSignals(ctx, languageCh, onLanguage)
	// Signals and updates change the state from their own coroutines; the main one only waits
	// for the moment to continue-as-new.
	if err := workflow.Await(ctx, func() bool {
		return (in.MaxEventsPerRun > 0 && events >= in.MaxEventsPerRun) || workflow.GetInfo(ctx).GetContinueAsNewSuggested()
	}); err != nil {
		return err
	}
	receiveAsync(presenceCh, onPresence)
	receiveAsync(languageCh, onLanguage)
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) && !wakeRunning }); err != nil {
		return err
	}
	next := in
	next.State = &st
	logger.Info("desk continuing as new", "events", events)
	return workflow.NewContinueAsNewError(ctx, DeskWorkflow, next)
}
