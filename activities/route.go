package activities

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/timdesk/timdesk/desk"
)

// Routing decisions (RouteResult.Decision).
const (
	DecisionAssigned      = "assigned"       // a regular agent on duty
	DecisionSupervisor    = "supervisor"     // no regular agent could take it: a supervisor
	DecisionOffHours      = "off_hours"      // nobody on duty: NextShift says when
	DecisionUnavailable   = "unavailable"    // on duty but all offline, full or timed out
	DecisionInvalidTarget = "invalid_target" // /transfer to someone not on the roster
)

// DeskClient is what the Router needs from Temporal (client.Client satisfies it).
type DeskClient interface {
	QueryWorkflow(ctx context.Context, workflowID, runID, queryType string, args ...any) (converter.EncodedValue, error)
	CountWorkflow(ctx context.Context, request *workflowservice.CountWorkflowExecutionsRequest) (*workflowservice.CountWorkflowExecutionsResponse, error)
}

// Router picks agents: roster from the file, overridden by the desk workflow's roster; presence
// and languages from the desk workflow; load from Temporal visibility (consultations with
// TimdeskStatus="human" and TimdeskAgent=id).
type Router struct {
	// Temporal answers the desk query and the load counts; nil means no presence (everyone
	// counts as online) and zero load.
	Temporal DeskClient
	// Waker lists and signals the queued consultations for WakeQueued (nil: nothing is woken).
	Waker WakeClient
	// Roster is the roster file (TIMDESK_ROSTER_FILE).
	Roster *desk.Roster
	// DeskWorkflowID and DeskQuery name the desk workflow and its query (the whole state).
	DeskWorkflowID string
	DeskQuery      string
	// RoutingQuery, when set, is the desk's smaller query Route and WakeQueued read (presence, the
	// roster override and the agents' languages, asked with the roster file's agent and
	// supervisor IDs) instead of DeskQuery: the whole state carries every customer's language.
	RoutingQuery string
	// Defaults is returned by Policy (with the roster's timeouts).
	Defaults desk.Policy
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// DeskCacheTTL is how long one desk query serves Policy (0: DefaultDeskCacheTTL, negative:
	// every Policy call queries).
	DeskCacheTTL time.Duration
	deskCache    deskCache

	mu           sync.Mutex
	cachedYAML   string
	cachedRoster *desk.Roster
}

func (r *Router) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// desk reads what routing needs of the desk workflow's state (RoutingQuery, else DeskQuery); a
// failed query routes with the desk's last answer (the roster override and presence it knew),
// else (the desk never answered this worker) with an empty state: the roster file, no presence.
func (r *Router) desk(ctx context.Context) desk.State {
	var ds desk.State
	if r.Temporal == nil || r.DeskWorkflowID == "" {
		return ds
	}
	query, args := r.DeskQuery, []any(nil)
	if r.RoutingQuery != "" {
		query = r.RoutingQuery
		var ids []string
		if r.Roster != nil {
			ids = r.Roster.IDs()
		}
		args = []any{ids}
	}
	at := r.now()
	v, err := r.Temporal.QueryWorkflow(ctx, r.DeskWorkflowID, "", query, args...)
	if err == nil {
		err = v.Get(&ds)
	}
	if err == nil {
		r.rememberRouting(ds, at)
		return ds
	}
	if last, answered, ok := r.lastAnswer(true); ok {
		logger(ctx).Warn("desk query failed; routing with the desk's last answer", "answeredAt", answered, "error", err)
		return last
	}
	logger(ctx).Warn("desk query failed; routing without presence", "error", err)
	return desk.State{}
}

// UserLanguage is the desk's record of a user's language: the preference set through the admin
// API, and the language they were last detected writing in (the worker wires it into LLM).
func (r *Router) UserLanguage(ctx context.Context, userID string) (preferred, detected string) {
	ds := r.cachedDesk(ctx) // asked once per customer message: the cache, never a query each
	return ds.Languages[userID], ds.Detected[userID].Language
}

// roster is the roster in force (desk.ResolveRoster: the desk's override, else the file's).
func (r *Router) roster(ctx context.Context, ds desk.State) (*desk.Roster, error) {
	res, _ := desk.ResolveRoster(ds, r.parseOverride, func() (*desk.Roster, string, error) { return r.Roster, "", nil })
	if res.OverrideErr != nil {
		logger(ctx).Warn("desk roster invalid; using the roster file", "version", ds.RosterVersion, "error", res.OverrideErr)
	}
	if res.Roster == nil {
		return nil, temporal.NewNonRetryableApplicationError("route: no valid roster configured", ErrTypeBadInput, res.OverrideErr)
	}
	return res.Roster, nil
}

// parseOverride parses the desk's roster override, caching the last one.
func (r *Router) parseOverride(yaml string) (*desk.Roster, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cachedRoster != nil && r.cachedYAML == yaml {
		return r.cachedRoster, nil
	}
	ro, err := desk.ParseRoster([]byte(yaml))
	if err != nil {
		return nil, err
	}
	r.cachedYAML, r.cachedRoster = yaml, ro
	return ro, nil
}

// Policy returns the consultation policy with the current roster's timeouts.
func (r *Router) Policy(ctx context.Context) (desk.Policy, error) {
	// the cached desk: a burst of new consultations must not query the desk workflow each
	ro, _ := r.roster(ctx, r.cachedDesk(ctx))
	return r.Defaults.WithRoster(ro).WithDefaults(), nil
}

// RouteInput asks for an agent for one consultation.
type RouteInput struct {
	ConsultationID string   `json:"consultationID"`
	Customer       string   `json:"customer"`
	Exclude        []string `json:"exclude,omitempty"` // timed out in this consultation: never picked again
	Current        string   `json:"current,omitempty"` // the agent who has it now (not picked again)
	Target         string   `json:"target,omitempty"`  // /transfer target: assign exactly this agent
	// Language is the customer's language: among agents equally available, one who reads it is
	// preferred (no translation in between), before load.
	Language string `json:"language,omitempty"`
	// Since is since when the customer has waited for a person (their place in the queue; zero:
	// now). Customers queued since earlier are served first: an agent's free slot goes to this
	// customer only when there are more free slots than customers waiting longer.
	Since time.Time `json:"since,omitzero"`
}

// RouteResult is the decision with a human-readable reason.
type RouteResult struct {
	Decision       string        `json:"decision"`
	Agent          string        `json:"agent,omitempty"`
	AgentName      string        `json:"agentName,omitempty"`
	AgentLanguage  string        `json:"agentLanguage,omitempty"` // roster, desk preference, else desk language
	Reason         string        `json:"reason"`
	NextShift      time.Time     `json:"nextShift,omitempty"`      // off_hours: when the next shift starts
	NextShiftLocal string        `json:"nextShiftLocal,omitempty"` // the same in the roster's zone, for people
	AcceptTimeout  time.Duration `json:"acceptTimeout"`
	ReplyTimeout   time.Duration `json:"replyTimeout"`
	At             time.Time     `json:"at"`
	// TimedOutAvailable (decision unavailable only): agents and supervisors on duty who were
	// skipped only because they are in Exclude (timed out in this consultation) and would
	// otherwise be usable (not offline, under capacity). Non-empty means the escalation ladder is
	// exhausted: a new round without exclusions would find someone.
	TimedOutAvailable []string `json:"timedOutAvailable,omitempty"`
}

type candidate struct {
	agent    desk.Agent
	load     int
	given    int // slots best leaves to customers waiting longer
	rank     int // roster order (breaks ties)
	presence int // 0 online, 1 unknown
	foreign  int // 0 reads the customer's language (or it is unknown), 1 does not
}

// Route picks the agent: on duty (roster zone, overrides), not offline, under capacity, known-online
// first, then one who reads the customer's language, then least loaded, then roster order; never
// one in Exclude or Current. With nobody usable but some on duty it asks a supervisor; with nobody
// on duty it returns off_hours and the next shift start.
func (r *Router) Route(ctx context.Context, in RouteInput) (RouteResult, error) {
	now := r.now()
	ds := r.desk(ctx)
	ro, err := r.roster(ctx, ds)
	if err != nil {
		return RouteResult{}, err
	}
	rt := &routing{r: r, ro: ro, ds: ds, in: in,
		res: RouteResult{AcceptTimeout: ro.AcceptTimeout, ReplyTimeout: ro.ReplyTimeout, At: now}}
	if in.Target != "" {
		return rt.transfer(), nil
	}
	onDuty := ro.OnDuty(now)
	if len(onDuty) == 0 {
		return rt.offHours(now), nil
	}
	cands, err := rt.candidates(ctx, onDuty)
	if err != nil {
		return RouteResult{}, err
	}
	if cands, err = rt.afterQueue(ctx, cands); err != nil {
		return RouteResult{}, err
	}
	if len(cands) > 0 {
		return rt.best(cands), nil
	}
	if res, ok := rt.supervisor(); ok {
		return res, nil
	}
	res := rt.res
	res.Decision = DecisionUnavailable
	res.Reason = "nobody available: " + strings.Join(rt.skipped, ", ")
	res.TimedOutAvailable, err = r.timedOutAvailable(ctx, ro, ds, onDuty, in)
	if err != nil {
		return RouteResult{}, err
	}
	return res, nil
}

// routing is one Route call: what it knows and the agents it skipped, with why.
type routing struct {
	r       *Router
	ro      *desk.Roster
	ds      desk.State
	in      RouteInput
	res     RouteResult
	skipped []string
	ahead   int // customers queued since before this one (afterQueue)
}

// assign is the result naming agent a.
func (rt *routing) assign(decision string, a desk.Agent, reason string) RouteResult {
	res := rt.res
	res.Decision, res.Agent, res.AgentName, res.AgentLanguage, res.Reason = decision, a.ID, a.Name, rt.language(a), reason
	return res
}

func (rt *routing) language(a desk.Agent) string {
	return rt.ds.AgentLanguage(a, rt.r.Defaults.DeskLanguage)
}

func (rt *routing) excluded(id string) bool {
	return id == rt.in.Current || slices.Contains(rt.in.Exclude, id)
}

// transfer assigns exactly the /transfer target, on duty or not (invalid_target when it is not
// on the roster).
func (rt *routing) transfer() RouteResult {
	a, ok := rt.ro.Agent(rt.in.Target)
	if !ok {
		res := rt.res
		res.Decision, res.Reason = DecisionInvalidTarget, fmt.Sprintf("transfer target %q is not on the roster", rt.in.Target)
		return res
	}
	reason := "transferred to " + a.ID
	if rt.ds.Offline(a.ID) {
		reason += " (offline)"
	}
	return rt.assign(DecisionAssigned, a, reason)
}

// offHours says when the next shift starts (nobody is on duty).
func (rt *routing) offHours(now time.Time) RouteResult {
	res := rt.res
	res.Decision = DecisionOffHours
	next, ok := rt.ro.NextShiftStart(now)
	if !ok {
		res.Reason = "nobody on duty and no shift in the next two weeks"
		return res
	}
	res.NextShift = next
	res.NextShiftLocal = next.In(rt.ro.Location()).Format("2006-01-02 15:04 MST")
	res.Reason = "nobody on duty; next shift starts " + res.NextShiftLocal
	return res
}

// candidates are the agents on duty who can take the consultation: not excluded, not offline,
// under capacity. The others are noted in skipped.
func (rt *routing) candidates(ctx context.Context, onDuty []desk.Agent) ([]candidate, error) {
	var cands []candidate
	for i, a := range onDuty {
		if rt.excluded(a.ID) {
			rt.skipped = append(rt.skipped, a.ID+" timed out or current")
			continue
		}
		c := candidate{agent: a, presence: 1, rank: i}
		if p, ok := rt.ds.Presence[a.ID]; ok {
			if !p.Online {
				rt.skipped = append(rt.skipped, a.ID+" offline")
				continue
			}
			c.presence = 0
		}
		load, err := rt.r.load(ctx, a.ID)
		if err != nil {
			return nil, err
		}
		if load >= a.Capacity {
			rt.skipped = append(rt.skipped, fmt.Sprintf("%s full %d/%d", a.ID, load, a.Capacity))
			continue
		}
		c.load = load
		if lang := desk.NormalizeLanguage(rt.in.Language); lang != "" && desk.NormalizeLanguage(rt.language(a)) != lang {
			c.foreign = 1
		}
		cands = append(cands, c)
	}
	return cands, nil
}

// afterQueue keeps the candidates only when their free slots outnumber the customers who have
// waited longer (queued since before in.Since, visibility): a customer handed off just as a slot
// frees does not take it from one already in the queue, whom WakeQueued is signalling; the queue
// is served oldest first whichever consultation routes first. Without candidates there is
// nothing to count.
func (rt *routing) afterQueue(ctx context.Context, cands []candidate) ([]candidate, error) {
	if len(cands) == 0 || rt.r.Temporal == nil {
		return cands, nil
	}
	free := 0
	for _, c := range cands {
		free += c.agent.Capacity - c.load
	}
	since := rt.in.Since
	if since.IsZero() {
		since = rt.res.At
	}
	resp, err := rt.r.Temporal.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{
		Query: desk.QueuedAheadQuery(since, rt.in.ConsultationID)})
	if err != nil {
		return nil, fmt.Errorf("count the queue ahead: %w", err)
	}
	rt.ahead = int(resp.GetCount())
	if rt.ahead >= free {
		rt.skipped = append(rt.skipped, fmt.Sprintf("%d free slot(s) kept for %d customer(s) waiting longer", free, rt.ahead))
		return nil, nil
	}
	return cands, nil
}

// best assigns the first candidate: known online, then reading the customer's language, then
// least loaded, then roster order. With customers waiting longer
// (rt.ahead), it first gives them the picks they would get, each adding one to its agent's load,
// and takes the next: consultations woken together read the same loads from visibility before
// any of them is assigned, and would otherwise all pick the same agent and overfill them.
func (rt *routing) best(cands []candidate) RouteResult {
	order := func(x, y candidate) int {
		if x.presence != y.presence {
			return x.presence - y.presence
		}
		if x.foreign != y.foreign {
			return x.foreign - y.foreign
		}
		if d := (x.load + x.given) - (y.load + y.given); d != 0 {
			return d
		}
		return x.rank - y.rank
	}
	slices.SortStableFunc(cands, order)
	for range rt.ahead { // afterQueue left more free slots than rt.ahead
		cands[0].given++
		if cands[0].load+cands[0].given >= cands[0].agent.Capacity {
			cands = cands[1:]
		}
		slices.SortStableFunc(cands, order)
	}
	c := cands[0]
	state := "online"
	if c.presence == 1 {
		state = "presence unknown"
	}
	reason := fmt.Sprintf("%s on duty, %s, load %d/%d, least loaded of %d", c.agent.ID, state, c.load, c.agent.Capacity, len(cands))
	if rt.in.Language != "" && c.foreign == 0 {
		reason += ", reads " + desk.NormalizeLanguage(rt.in.Language)
	}
	if rt.ahead > 0 {
		reason += fmt.Sprintf(", after the picks of %d customer(s) waiting longer", rt.ahead)
	}
	if len(rt.skipped) > 0 {
		reason += "; skipped: " + strings.Join(rt.skipped, ", ")
	}
	return rt.assign(DecisionAssigned, c.agent, reason)
}

// supervisor assigns the first supervisor not excluded and not offline, when there is one.
func (rt *routing) supervisor() (RouteResult, bool) {
	for _, id := range rt.ro.Supervisors {
		if rt.excluded(id) {
			rt.skipped = append(rt.skipped, id+" (supervisor) timed out or current")
			continue
		}
		if rt.ds.Offline(id) {
			rt.skipped = append(rt.skipped, id+" (supervisor) offline")
			continue
		}
		a, _ := rt.ro.Agent(id)
		return rt.assign(DecisionSupervisor, a, "no agent available ("+strings.Join(rt.skipped, ", ")+"); escalated to supervisor "+id), true
	}
	return RouteResult{}, false
}

// timedOutAvailable lists the on-duty agents and supervisors that Route skipped only because
// they are in in.Exclude: not offline and, for agents, under capacity.
func (r *Router) timedOutAvailable(ctx context.Context, ro *desk.Roster, ds desk.State, onDuty []desk.Agent, in RouteInput) ([]string, error) {
	if len(in.Exclude) == 0 {
		return nil, nil
	}
	var out []string
	for _, a := range onDuty {
		if !slices.Contains(in.Exclude, a.ID) || ds.Offline(a.ID) {
			continue
		}
		load, err := r.load(ctx, a.ID)
		if err != nil {
			return nil, err
		}
		if load < a.Capacity {
			out = append(out, a.ID)
		}
	}
	for _, id := range ro.Supervisors {
		if slices.Contains(in.Exclude, id) && !ds.Offline(id) && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out, nil
}

// load counts the agent's open consultations with status human through Temporal visibility.
func (r *Router) load(ctx context.Context, agentID string) (int, error) {
	if r.Temporal == nil {
		return 0, nil
	}
	resp, err := r.Temporal.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Query: desk.AgentLoadQuery(agentID)})
	if err != nil {
		return 0, fmt.Errorf("count load of %s: %w", agentID, err)
	}
	return int(resp.GetCount()), nil
}

type activityLogger interface {
	Warn(msg string, keyvals ...any)
	Info(msg string, keyvals ...any)
}

type nopLogger struct{}

func (nopLogger) Warn(string, ...any) {}
func (nopLogger) Info(string, ...any) {}

// logger is the activity logger, or a no-op outside an activity (the worker calls some methods
// directly at start).
func logger(ctx context.Context) activityLogger {
	if activity.IsActivity(ctx) {
		return activity.GetLogger(ctx)
	}
	return nopLogger{}
}

// QueuePositionInput asks where a queued consultation stands: Since is its start time (the
// order WakeQueued serves the queue in).
type QueuePositionInput struct {
	Since          time.Time `json:"since"`
	ConsultationID string    `json:"consultationID,omitempty"` // never counted ahead of itself
}

// QueuePositionResult is the consultation's place in the queue (1 = next), 0 when unknown.
type QueuePositionResult struct {
	Position int `json:"position"`
}

// QueuePosition counts the running consultations waiting for an agent that started before
// in.Since (visibility), so the customer can be told their place in the queue.
func (r *Router) QueuePosition(ctx context.Context, in QueuePositionInput) (QueuePositionResult, error) {
	if r.Temporal == nil || in.Since.IsZero() {
		return QueuePositionResult{}, nil
	}
	resp, err := r.Temporal.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Query: desk.QueuedAheadQuery(in.Since, in.ConsultationID)})
	if err != nil {
		return QueuePositionResult{}, fmt.Errorf("count queue ahead: %w", err)
	}
	return QueuePositionResult{Position: int(resp.GetCount()) + 1}, nil
}
