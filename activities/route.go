package activities

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
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

// Policy is the consultation's configuration, read once per run by the Policy activity.
type Policy struct {
	DeskLanguage       string        `json:"deskLanguage"`       // agents' language when the roster has none
	HumanKeywords      []string      `json:"humanKeywords"`      // case-insensitive substrings that hand off at once
	AIIdleTimeout      time.Duration `json:"aiIdleTimeout"`      // AI owns it, customer silent → close
	QueueIdleTimeout   time.Duration `json:"queueIdleTimeout"`   // waiting for a human, customer silent → close
	HumanIdleTimeout   time.Duration `json:"humanIdleTimeout"`   // agent owns it, nobody wrote → close
	AcceptTimeout      time.Duration `json:"acceptTimeout"`      // from the roster
	ReplyTimeout       time.Duration `json:"replyTimeout"`       // from the roster
	RetryRouteAfter    time.Duration `json:"retryRouteAfter"`    // everyone busy → route again after
	MinConfidence      float64       `json:"minConfidence"`      // AI answers below this hand off
	MaxClarify         int           `json:"maxClarify"`         // clarifying questions before handing off
	TranslationEnabled bool          `json:"translationEnabled"` // false: translation "off"
	RatingPrompt       bool          `json:"ratingPrompt"`       // ask for a rating when closing
	RatingWindow       time.Duration `json:"ratingWindow"`       // how long a closed consultation waits for the rating
}

// DefaultHumanKeywords are the explicit requests for a human (TIMDESK_HUMAN_KEYWORDS overrides).
var DefaultHumanKeywords = []string{"人工", "转人工", "human", "agent", "真人"}

// DefaultPolicy is the policy without any environment overrides.
func DefaultPolicy() Policy {
	return Policy{
		DeskLanguage:     "en",
		HumanKeywords:    slices.Clone(DefaultHumanKeywords),
		AIIdleTimeout:    30 * time.Minute,
		QueueIdleTimeout: 24 * time.Hour,
		HumanIdleTimeout: 2 * time.Hour,
		AcceptTimeout:    DefaultAcceptTimeout,
		ReplyTimeout:     DefaultReplyTimeout,
		RetryRouteAfter:  DefaultAcceptTimeout,
		MinConfidence:    0.5,
		MaxClarify:       1,
		RatingPrompt:     true,
		RatingWindow:     5 * time.Minute,
	}
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
	Roster *Roster
	// DeskWorkflowID and DeskQuery name the desk workflow and its query.
	DeskWorkflowID string
	DeskQuery      string
	// Defaults is returned by Policy (with the roster's timeouts).
	Defaults Policy
	// Now is the clock (time.Now when nil).
	Now func() time.Time

	mu            sync.Mutex
	cachedYAML    string
	cachedVersion int
	cachedRoster  *Roster
}

func (r *Router) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// desk reads the desk workflow's state; failures leave it empty (logged).
func (r *Router) desk(ctx context.Context) DeskState {
	var ds DeskState
	if r.Temporal == nil || r.DeskWorkflowID == "" {
		return ds
	}
	v, err := r.Temporal.QueryWorkflow(ctx, r.DeskWorkflowID, "", r.DeskQuery)
	if err == nil {
		err = v.Get(&ds)
	}
	if err != nil {
		logger(ctx).Warn("desk query failed; routing without presence", "error", err)
	}
	return ds
}

// roster is the desk's roster override when it has one, else the file's.
func (r *Router) roster(ctx context.Context, ds DeskState) (*Roster, error) {
	if ds.RosterYAML == "" {
		if r.Roster == nil {
			return nil, temporal.NewNonRetryableApplicationError("route: no roster configured", ErrTypeBadInput, nil)
		}
		return r.Roster, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cachedRoster != nil && r.cachedYAML == ds.RosterYAML {
		return r.cachedRoster, nil
	}
	ro, err := ParseRoster([]byte(ds.RosterYAML))
	if err != nil {
		logger(ctx).Warn("desk roster invalid; using the roster file", "version", ds.RosterVersion, "error", err)
		if r.Roster == nil {
			return nil, temporal.NewNonRetryableApplicationError("route: no valid roster", ErrTypeBadInput, err)
		}
		return r.Roster, nil
	}
	r.cachedYAML, r.cachedVersion, r.cachedRoster = ds.RosterYAML, ds.RosterVersion, ro
	return ro, nil
}

// currentRoster is the roster routing would use now (desk override or file).
func (r *Router) currentRoster(ctx context.Context) (*Roster, error) {
	return r.roster(ctx, r.desk(ctx))
}

// Policy returns the consultation policy with the current roster's timeouts.
func (r *Router) Policy(ctx context.Context) (Policy, error) {
	p := r.Defaults
	if p.DeskLanguage == "" {
		p.DeskLanguage = "en"
	}
	if ro, err := r.currentRoster(ctx); err == nil {
		p.AcceptTimeout, p.ReplyTimeout = ro.AcceptTimeout, ro.ReplyTimeout
	}
	if p.AcceptTimeout <= 0 {
		p.AcceptTimeout = DefaultAcceptTimeout
	}
	if p.ReplyTimeout <= 0 {
		p.ReplyTimeout = DefaultReplyTimeout
	}
	if p.RetryRouteAfter <= 0 {
		p.RetryRouteAfter = p.AcceptTimeout
	}
	return p, nil
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
	agent    Agent
	load     int
	presence int // 0 online, 1 unknown
	foreign  int // 0 reads the customer's language (or it is unknown), 1 does not
}

// Route picks the agent: on duty (roster zone, overrides), not offline, under capacity, known-online
// first, then one who reads the customer's language, then least loaded, then roster order; never
// one in Exclude or Current. With nobody
// usable but some on duty it asks a supervisor; with nobody on duty it returns off_hours and the
// next shift start.
func (r *Router) Route(ctx context.Context, in RouteInput) (RouteResult, error) {
	now := r.now()
	ds := r.desk(ctx)
	ro, err := r.roster(ctx, ds)
	if err != nil {
		return RouteResult{}, err
	}
	res := RouteResult{AcceptTimeout: ro.AcceptTimeout, ReplyTimeout: ro.ReplyTimeout, At: now}
	language := func(a Agent) string {
		if l := NormalizeLanguage(ds.Languages[a.ID]); l != "" {
			return l
		}
		if a.Language != "" {
			return a.Language
		}
		if r.Defaults.DeskLanguage != "" {
			return r.Defaults.DeskLanguage
		}
		return "en"
	}
	assign := func(decision string, a Agent, reason string) (RouteResult, error) {
		res.Decision, res.Agent, res.AgentName, res.AgentLanguage, res.Reason = decision, a.ID, a.Name, language(a), reason
		return res, nil
	}
	if in.Target != "" {
		a, ok := ro.Agent(in.Target)
		if !ok {
			res.Decision, res.Reason = DecisionInvalidTarget, fmt.Sprintf("transfer target %q is not on the roster", in.Target)
			return res, nil
		}
		reason := "transferred to " + a.ID
		if p, ok := ds.Presence[a.ID]; ok && !p.Online {
			reason += " (offline)"
		}
		return assign(DecisionAssigned, a, reason)
	}
	excluded := func(id string) bool { return id == in.Current || slices.Contains(in.Exclude, id) }
	onDuty := ro.OnDuty(now)
	if len(onDuty) == 0 {
		res.Decision = DecisionOffHours
		if next, ok := ro.NextShiftStart(now); ok {
			res.NextShift = next
			res.NextShiftLocal = next.In(ro.Location()).Format("2006-01-02 15:04 MST")
			res.Reason = "nobody on duty; next shift starts " + res.NextShiftLocal
		} else {
			res.Reason = "nobody on duty and no shift in the next two weeks"
		}
		return res, nil
	}
	var cands []candidate
	var skipped []string
	for _, a := range onDuty {
		if excluded(a.ID) {
			skipped = append(skipped, a.ID+" timed out or current")
			continue
		}
		c := candidate{agent: a, presence: 1}
		if p, ok := ds.Presence[a.ID]; ok {
			if !p.Online {
				skipped = append(skipped, a.ID+" offline")
				continue
			}
			c.presence = 0
		}
		load, err := r.load(ctx, a.ID)
		if err != nil {
			return RouteResult{}, err
		}
		if load >= a.Capacity {
			skipped = append(skipped, fmt.Sprintf("%s full %d/%d", a.ID, load, a.Capacity))
			continue
		}
		c.load = load
		if lang := NormalizeLanguage(in.Language); lang != "" && NormalizeLanguage(language(a)) != lang {
			c.foreign = 1
		}
		cands = append(cands, c)
	}
	if len(cands) > 0 {
		slices.SortStableFunc(cands, func(x, y candidate) int {
			if x.presence != y.presence {
				return x.presence - y.presence
			}
			if x.foreign != y.foreign {
				return x.foreign - y.foreign
			}
			return x.load - y.load
		})
		c := cands[0]
		state := "online"
		if c.presence == 1 {
			state = "presence unknown"
		}
		reason := fmt.Sprintf("%s on duty, %s, load %d/%d, least loaded of %d", c.agent.ID, state, c.load, c.agent.Capacity, len(cands))
		if in.Language != "" && c.foreign == 0 {
			reason += ", reads " + NormalizeLanguage(in.Language)
		}
		if len(skipped) > 0 {
			reason += "; skipped: " + strings.Join(skipped, ", ")
		}
		return assign(DecisionAssigned, c.agent, reason)
	}
	for _, id := range ro.Supervisors {
		if excluded(id) {
			skipped = append(skipped, id+" (supervisor) timed out or current")
			continue
		}
		if p, ok := ds.Presence[id]; ok && !p.Online {
			skipped = append(skipped, id+" (supervisor) offline")
			continue
		}
		a, _ := ro.Agent(id)
		return assign(DecisionSupervisor, a, "no agent available ("+strings.Join(skipped, ", ")+"); escalated to supervisor "+id)
	}
	res.Decision = DecisionUnavailable
	res.Reason = "nobody available: " + strings.Join(skipped, ", ")
	res.TimedOutAvailable, err = r.timedOutAvailable(ctx, ro, ds, onDuty, in)
	if err != nil {
		return RouteResult{}, err
	}
	return res, nil
}

// timedOutAvailable lists the on-duty agents and supervisors that Route skipped only because
// they are in in.Exclude: not offline and, for agents, under capacity.
func (r *Router) timedOutAvailable(ctx context.Context, ro *Roster, ds DeskState, onDuty []Agent, in RouteInput) ([]string, error) {
	if len(in.Exclude) == 0 {
		return nil, nil
	}
	offline := func(id string) bool { p, ok := ds.Presence[id]; return ok && !p.Online }
	var out []string
	for _, a := range onDuty {
		if !slices.Contains(in.Exclude, a.ID) || offline(a.ID) {
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
		if slices.Contains(in.Exclude, id) && !offline(id) && !slices.Contains(out, id) {
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
	q := fmt.Sprintf("%s = %s AND %s = %s AND ExecutionStatus = %s", StatusAttribute, strconv.Quote(StatusHuman),
		AgentAttribute, strconv.Quote(agentID), strconv.Quote("Running"))
	resp, err := r.Temporal.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Query: q})
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
