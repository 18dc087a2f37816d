package workflows

import (
	"slices"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/timdesk/timdesk/activities"
	"github.com/timdesk/timdesk/desk"
)

// DeskWorkflowID is the ID of the single desk entity workflow (the worker starts it).
const DeskWorkflowID = "timdesk/desk"

// Message names of DeskWorkflow.
const (
	SignalPresence = "presence" // desk.PresenceEvent
	SignalLanguage = "language" // desk.LanguagePreference
	UpdateRoster   = "roster"   // desk.RosterUpdate → desk.RosterResult; the validator rejects invalid rosters
	QueryDesk      = "desk"     // desk.State
	// QueryRouting (arguments: the roster file's agent and supervisor IDs) is the part of the
	// desk's state routing reads (desk.State.ForRouting): no customers' languages.
	QueryRouting = "routing"
	// SignalSlotFreed (desk.SlotFreed) from a consultation that released its agent: the desk
	// wakes the queue after slotSettle.
	SignalSlotFreed = "slot_freed"
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
	d := &deskRun{in: in, st: desk.NewState(in.State)}
	return d.run(ctx)
}

// deskRun is one run of the desk workflow: its state plus run-local bookkeeping.
type deskRun struct {
	in      DeskInput
	st      desk.State
	events  int // signals and updates handled in this run
	updates int // roster updates accepted in this run (Temporal allows 2,000 per run)
	// lastPresence is when this run last took a presence signal (State.StateChange callbacks
	// can be replayed until replayWindow later; see awaitContinue).
	lastPresence time.Time
	presenceCh   workflow.ReceiveChannel
	languageCh   workflow.ReceiveChannel
	freedCh      workflow.ReceiveChannel
	// Wake-ups run one at a time in their own coroutine (presence keeps flowing); agents who come
	// online, or slots freed, while one runs get one more wake-up after it, which covers them all.
	wakeRunning bool
	wakeNext    *wakeRequest
	// overrideIDs are the agents and supervisors of the roster override overrideYAML (the
	// routing query's cache).
	overrideYAML string
	overrideIDs  []string
}

// wakeRequest is one reason to wake the queued consultations.
type wakeRequest struct {
	agent  string // the agent who came online or whose slot was freed ("" for a roster change)
	reason string
	// settle waits slotSettle first, so visibility (which Route counts loads from) already shows
	// the consultation that freed the slot as closed or reassigned.
	settle bool
}

// slotSettle is how long the desk waits after a freed slot before waking the queue.
const slotSettle = 2 * time.Second

// wakeRecheck is when a wake-up lists the queue a second time (activities.WakeInput.Recheck): a
// consultation queued moments before the wake-up, still missing from visibility (which trails on
// PostgreSQL), or one that routed on a desk view read just before the login
// (activities.DefaultDeskCacheTTL) is woken then instead of at its routing retry (minutes).
const wakeRecheck = 5 * time.Second

// run registers the handlers, lets signals and updates change the state from their own
// coroutines, and continues as new when Temporal suggests it.
func (d *deskRun) run(ctx workflow.Context) error {
	if err := d.registerHandlers(ctx); err != nil {
		return err
	}
	d.presenceCh = workflow.GetSignalChannel(ctx, SignalPresence)
	d.languageCh = workflow.GetSignalChannel(ctx, SignalLanguage)
	d.freedCh = workflow.GetSignalChannel(ctx, SignalSlotFreed)
	pumpSignals(ctx, d.presenceCh, func(ev desk.PresenceEvent) { d.onPresence(ctx, ev) })
	pumpSignals(ctx, d.languageCh, func(p desk.LanguagePreference) { d.onLanguage(ctx, p) })
	pumpSignals(ctx, d.freedCh, func(f desk.SlotFreed) { d.onSlotFreed(ctx, f) })
	if err := d.awaitContinue(ctx); err != nil {
		return err
	}
	if err := d.quiesce(ctx); err != nil {
		return err
	}
	next := d.in
	next.State = &d.st
	workflow.GetLogger(ctx).Info("desk continuing as new", "events", d.events)
	return workflow.NewContinueAsNewError(ctx, DeskWorkflow, next)
}

// awaitContinue returns when the run should continue as new: the test hook's event count is
// reached, or Temporal suggests it and no replay of a presence callback this run took can pass
// the signature check any more (replayWindow after the last one, as the consultation's
// shouldContinueAsNew: Temporal drops a replayed signal by its request ID only in the run that
// took it), unless the run reaches a forceContinue size first.
func (d *deskRun) awaitContinue(ctx workflow.Context) error {
	for {
		if err := workflow.Await(ctx, func() bool { return d.hook() || workflow.GetInfo(ctx).GetContinueAsNewSuggested() }); err != nil {
			return err
		}
		wait := d.lastPresence.Add(replayWindow).Sub(workflow.Now(ctx))
		if d.forced(ctx) || d.lastPresence.IsZero() || wait <= 0 {
			return nil
		}
		if _, err := workflow.AwaitWithTimeout(ctx, wait, func() bool { return d.forced(ctx) }); err != nil {
			return err
		}
	}
}

// hook: the test hook's event count is reached.
func (d *deskRun) hook() bool { return d.in.MaxEventsPerRun > 0 && d.events >= d.in.MaxEventsPerRun }

// forced: the run continues as new without waiting for quiet (the hook, or a forceContinue size).
func (d *deskRun) forced(ctx workflow.Context) bool {
	return d.hook() || tooLargeToWait(ctx, d.updates)
}

// registerHandlers sets the "desk" and "routing" queries and the "roster" update with its
// validator.
func (d *deskRun) registerHandlers(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, QueryDesk, func() (desk.State, error) { return d.st, nil }); err != nil {
		return err
	}
	if err := workflow.SetQueryHandler(ctx, QueryRouting, d.routingView); err != nil {
		return err
	}
	return workflow.SetUpdateHandlerWithOptions(ctx, UpdateRoster, d.updateRoster,
		workflow.UpdateHandlerOptions{Validator: validateRoster})
}

// routingView answers the routing query: ForRouting for ids and the override roster's agents
// and supervisors (parsed once per override; queries change nothing and are not replayed).
func (d *deskRun) routingView(ids []string) (desk.State, error) {
	if d.st.RosterYAML != "" {
		if d.overrideYAML != d.st.RosterYAML {
			d.overrideYAML, d.overrideIDs = d.st.RosterYAML, nil
			if ro, err := desk.ParseRoster([]byte(d.st.RosterYAML)); err == nil { //workflowcheck:ignore
				d.overrideIDs = ro.IDs()
			}
		}
		ids = append(slices.Clone(ids), d.overrideIDs...)
	}
	return d.st.ForRouting(ids), nil
}

// updateRoster stores a roster override ("" goes back to the file) and imports its accounts.
func (d *deskRun) updateRoster(ctx workflow.Context, u desk.RosterUpdate) (desk.RosterResult, error) {
	d.events++
	d.updates++
	d.st.RosterYAML = u.YAML
	d.st.RosterVersion++
	if u.YAML != "" {
		actx := activityCtx(ctx, 30*time.Second, 5*time.Minute, 0)
		if err := workflow.ExecuteActivity(actx, im.ImportRoster, u).Get(ctx, nil); err != nil {
			workflow.GetLogger(ctx).Error("import roster accounts failed", "error", err)
		}
	}
	// a new roster may raise capacity or add agents: queued customers may be served now
	d.wake(ctx, wakeRequest{reason: "roster changed"})
	return desk.RosterResult{Version: d.st.RosterVersion}, nil
}

// validateRoster rejects a roster override desk.ParseRoster rejects.
func validateRoster(u desk.RosterUpdate) error {
	if u.YAML == "" {
		return nil
	}
	// Validators are never replayed (a rejection is not in history), and parsing is a pure
	// function of the YAML: safe here.
	_, err := desk.ParseRoster([]byte(u.YAML)) //workflowcheck:ignore
	return err
}

// onPresence records a presence event; an agent coming online wakes the queued consultations
// (the API records presence of roster agents only).
func (d *deskRun) onPresence(ctx workflow.Context, ev desk.PresenceEvent) {
	d.events++
	d.lastPresence = workflow.Now(ctx)
	if d.st.ApplyPresence(ev) {
		d.wake(ctx, wakeRequest{agent: ev.UserID, reason: ev.UserID + " online"})
	}
}

// onLanguage records a user's language preference, or the language an API replica detected
// them writing in (bounded: desk.MaxDetectedLanguages, desk.MaxPreferredLanguages).
func (d *deskRun) onLanguage(ctx workflow.Context, p desk.LanguagePreference) {
	d.events++
	d.st.ApplyLanguage(p, workflow.Now(ctx).UTC())
}

// onSlotFreed wakes the queue: a consultation released its agent.
func (d *deskRun) onSlotFreed(ctx workflow.Context, f desk.SlotFreed) {
	d.events++
	d.wake(ctx, wakeRequest{agent: f.Agent, reason: f.Agent + " free (" + f.Reason + ")", settle: true})
}

// wake runs WakeQueued in its own coroutine, or queues one more wake-up after the running one
// (a later request replaces an earlier queued one: one wake-up covers them all).
func (d *deskRun) wake(ctx workflow.Context, req wakeRequest) {
	if d.wakeRunning {
		if d.wakeNext == nil || !d.wakeNext.settle {
			d.wakeNext = &req
		}
		return
	}
	d.wakeRunning = true
	workflow.Go(ctx, func(ctx workflow.Context) {
		defer func() { d.wakeRunning = false }()
		actx := activityCtx(ctx, 2*time.Minute, 5*time.Minute, 3)
		for next := &req; next != nil; next, d.wakeNext = d.wakeNext, nil {
			if next.settle {
				if err := workflow.Sleep(ctx, slotSettle); err != nil {
					return
				}
			}
			var res activities.WakeResult
			in := activities.WakeInput{Agent: next.agent, Reason: next.reason, Signal: SignalRouteNow, Recheck: wakeRecheck}
			if err := workflow.ExecuteActivity(actx, router.WakeQueued, in).Get(ctx, &res); err != nil {
				workflow.GetLogger(ctx).Error("waking queued consultations failed; they route at their next retry", "reason", next.reason, "error", err)
			} else {
				workflow.GetLogger(ctx).Info("woke queued consultations", "reason", next.reason, "signaled", res.Signaled, "listed", res.Listed)
			}
		}
	})
}

// quiesce accepts the signals still buffered and waits for running updates and the wake-up:
// after it nothing is in flight, so continue-as-new loses nothing.
func (d *deskRun) quiesce(ctx workflow.Context) error {
	receiveAsync(d.presenceCh, func(ev desk.PresenceEvent) { d.onPresence(ctx, ev) })
	receiveAsync(d.languageCh, func(p desk.LanguagePreference) { d.onLanguage(ctx, p) })
	receiveAsync(d.freedCh, func(f desk.SlotFreed) { d.onSlotFreed(ctx, f) })
	return workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) && !d.wakeRunning })
}
