package desk

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/timdesk/timdesk/tim/userid"
)

// Default escalation timeouts used when the roster leaves them out.
const (
	DefaultAcceptTimeout = 2 * time.Minute
	DefaultReplyTimeout  = 10 * time.Minute
	// DefaultCapacity is the number of open consultations an agent takes when the roster has no capacity.
	DefaultCapacity = 5
	// maxShiftLookahead bounds the search for the next shift start.
	maxShiftLookahead = 15
)

// ErrInvalidRoster wraps every roster validation failure.
var ErrInvalidRoster = errors.New("invalid roster")

// Roster is the duty roster (TIMDESK_ROSTER_FILE or the desk workflow's override), in YAML:
//
//	timezone: Asia/Shanghai          # IANA zone for shifts and overrides
//	accept_timeout: 2m               # assigned agent has not replied → next agent
//	reply_timeout: 10m               # customer waiting on the agent → nudge, then reassign
//	agents:
//	  - {id: agent_li, name: Li Wei, language: zh, capacity: 5, shifts: ["mon-fri 09:00-18:00"]}
//	supervisors: [agent_zhang]       # last rung of the escalation ladder
//	overrides:
//	  - {date: 2026-10-01, closed: true}
//	  - {date: 2026-10-08, agents: [agent_emma]}            # only these agents, on their usual shifts
//	  - {date: 2026-10-09, agents: [agent_li], hours: "10:00-14:00"}
//
// A shift is "<days> HH:MM-HH:MM" where days is daily, a day (mon), a range (mon-fri, fri-mon)
// or a list (mon,wed); an end at or before the start crosses midnight. Overrides apply to shifts
// that start on that date in the roster's time zone. Supervisors are on call whenever they are
// not also listed as agents with shifts; they are only asked when no regular agent can take the
// consultation.
type Roster struct {
	Timezone      string        `yaml:"timezone" json:"timezone"`
	AcceptTimeout time.Duration `yaml:"accept_timeout" json:"acceptTimeout"`
	ReplyTimeout  time.Duration `yaml:"reply_timeout" json:"replyTimeout"`
	Agents        []Agent       `yaml:"agents" json:"agents"`
	Supervisors   []string      `yaml:"supervisors" json:"supervisors"`
	Overrides     []Override    `yaml:"overrides" json:"overrides"`

	loc       *time.Location
	shifts    map[string][]shift
	overrides map[string]Override // by date YYYY-MM-DD
}

// Agent is one person on the roster.
type Agent struct {
	ID       string   `yaml:"id" json:"id"`
	Name     string   `yaml:"name" json:"name,omitempty"`
	Language string   `yaml:"language" json:"language,omitempty"`
	Capacity int      `yaml:"capacity" json:"capacity"`
	Shifts   []string `yaml:"shifts" json:"shifts,omitempty"`
}

// Override changes one date: Closed closes the desk, Agents restricts who works (Hours, if set,
// replaces their shifts that day).
type Override struct {
	Date   string   `yaml:"date" json:"date"`
	Closed bool     `yaml:"closed" json:"closed,omitempty"`
	Agents []string `yaml:"agents" json:"agents,omitempty"`
	Hours  string   `yaml:"hours" json:"hours,omitempty"`
}

type shift struct {
	days       [7]bool // indexed by time.Weekday
	start, end int     // minutes from the start day's midnight; end may exceed 1440
}

// ParseRoster decodes and validates a roster document; errors wrap ErrInvalidRoster.
func ParseRoster(data []byte) (*Roster, error) {
	var r Roster
	if err := yaml.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("parse roster: %w: %w", ErrInvalidRoster, err)
	}
	if err := r.validate(); err != nil {
		return nil, fmt.Errorf("parse roster: %w: %w", ErrInvalidRoster, err)
	}
	return &r, nil
}

func (r *Roster) validate() error {
	if r.Timezone == "" {
		r.Timezone = "UTC"
	}
	loc, err := time.LoadLocation(r.Timezone)
	if err != nil {
		return fmt.Errorf("timezone %q: %w", r.Timezone, err)
	}
	r.loc = loc
	if r.AcceptTimeout < 0 || r.ReplyTimeout < 0 {
		return errors.New("timeouts must not be negative")
	}
	if r.AcceptTimeout == 0 {
		r.AcceptTimeout = DefaultAcceptTimeout
	}
	if r.ReplyTimeout == 0 {
		r.ReplyTimeout = DefaultReplyTimeout
	}
	if len(r.Agents) == 0 && len(r.Supervisors) == 0 {
		return errors.New("no agents")
	}
	if err := r.validateAgents(); err != nil {
		return err
	}
	for _, s := range r.Supervisors {
		if err := userid.Validate(s); err != nil {
			return fmt.Errorf("supervisor: %w", err)
		}
	}
	return r.validateOverrides()
}

// validateAgents checks every agent (user ID, listed once, capacity, shifts), fills the defaults
// and indexes the shifts.
func (r *Roster) validateAgents() error {
	r.shifts = make(map[string][]shift, len(r.Agents))
	for i := range r.Agents {
		a := &r.Agents[i]
		if err := userid.Validate(a.ID); err != nil {
			return fmt.Errorf("agent %d: %w", i, err)
		}
		if _, dup := r.shifts[a.ID]; dup {
			return fmt.Errorf("agent %q listed twice", a.ID)
		}
		if a.Capacity < 0 {
			return fmt.Errorf("agent %q: negative capacity", a.ID)
		}
		if a.Capacity == 0 {
			a.Capacity = DefaultCapacity
		}
		a.Language = NormalizeLanguage(a.Language)
		list := make([]shift, 0, len(a.Shifts))
		for _, s := range a.Shifts {
			sh, err := parseShift(s)
			if err != nil {
				return fmt.Errorf("agent %q: %w", a.ID, err)
			}
			list = append(list, sh)
		}
		r.shifts[a.ID] = list
	}
	return nil
}

// validateOverrides checks every override (date, known agents, hours) and indexes them by date.
func (r *Roster) validateOverrides() error {
	r.overrides = make(map[string]Override, len(r.Overrides))
	for _, o := range r.Overrides {
		if _, err := time.Parse(time.DateOnly, o.Date); err != nil {
			return fmt.Errorf("override date %q: want YYYY-MM-DD", o.Date)
		}
		for _, id := range o.Agents {
			if _, ok := r.shifts[id]; !ok {
				return fmt.Errorf("override %s: unknown agent %q", o.Date, id)
			}
		}
		if o.Hours != "" {
			if _, err := parseShift("daily " + o.Hours); err != nil {
				return fmt.Errorf("override %s: %w", o.Date, err)
			}
		}
		r.overrides[o.Date] = o
	}
	return nil
}

var weekdays = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

func parseShift(s string) (shift, error) {
	var sh shift
	fields := strings.Fields(strings.ToLower(s))
	var days, hours string
	switch len(fields) {
	case 1:
		days, hours = "daily", fields[0]
	case 2:
		days, hours = fields[0], fields[1]
	default:
		return sh, fmt.Errorf("shift %q: want \"<days> HH:MM-HH:MM\"", s)
	}
	var err error
	if sh.days, err = parseDays(days); err != nil {
		return sh, fmt.Errorf("shift %q: %w", s, err)
	}
	from, to, ok := strings.Cut(hours, "-")
	if !ok {
		return sh, fmt.Errorf("shift %q: want HH:MM-HH:MM", s)
	}
	if sh.start, err = parseClock(from); err != nil || sh.start >= 24*60 {
		return sh, fmt.Errorf("shift %q: bad start %q", s, from)
	}
	if sh.end, err = parseClock(to); err != nil {
		return sh, fmt.Errorf("shift %q: bad end %q", s, to)
	}
	if sh.end <= sh.start {
		sh.end += 24 * 60 // crosses midnight
	}
	return sh, nil
}

// parseDays reads the days of a shift: daily (also "*", "mon-sun"), a day (mon), a range
// (mon-fri, fri-mon, wrapping) or a comma list of those.
func parseDays(days string) ([7]bool, error) {
	var out [7]bool
	if days == "daily" || days == "*" || days == "mon-sun" {
		for i := range out {
			out[i] = true
		}
		return out, nil
	}
	for _, part := range strings.Split(days, ",") {
		from, to, isRange := strings.Cut(part, "-")
		if !isRange {
			to = from
		}
		f, ok := weekdays[from]
		if !ok {
			return out, fmt.Errorf("unknown day %q", from)
		}
		t, ok := weekdays[to]
		if !ok {
			return out, fmt.Errorf("unknown day %q", to)
		}
		for d := f; ; d = (d + 1) % 7 {
			out[d] = true
			if d == t {
				break
			}
		}
	}
	return out, nil
}

func parseClock(s string) (int, error) {
	h, m, ok := strings.Cut(s, ":")
	if !ok {
		return 0, errors.New("want HH:MM")
	}
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if err1 != nil || err2 != nil || hh < 0 || hh > 24 || mm < 0 || mm > 59 || (hh == 24 && mm != 0) {
		return 0, errors.New("want HH:MM")
	}
	return hh*60 + mm, nil
}

// Location is the roster's time zone.
func (r *Roster) Location() *time.Location { return r.loc }

// IsAgent reports whether id is a roster agent or a supervisor.
func (r *Roster) IsAgent(id string) bool {
	_, ok := r.Agent(id)
	return ok
}

// IsSupervisor reports whether id is on the supervisors list.
func (r *Roster) IsSupervisor(id string) bool { return slices.Contains(r.Supervisors, id) }

// Agent returns the roster entry for id; a supervisor who is not also an agent gets a bare entry.
func (r *Roster) Agent(id string) (Agent, bool) {
	for _, a := range r.Agents {
		if a.ID == id {
			return a, true
		}
	}
	if r.IsSupervisor(id) {
		return Agent{ID: id, Capacity: DefaultCapacity}, true
	}
	return Agent{}, false
}

// AccountIDs lists every agent and supervisor, each once, in roster order (for account import).
func (r *Roster) AccountIDs() []string {
	ids := make([]string, 0, len(r.Agents)+len(r.Supervisors))
	for _, a := range r.Agents {
		ids = append(ids, a.ID)
	}
	for _, s := range r.Supervisors {
		if !slices.Contains(ids, s) {
			ids = append(ids, s)
		}
	}
	return ids
}

// shiftWindows calls fn with each shift of each agent that starts on the local date
// (year, month, day), honoring that date's override.
func (r *Roster) shiftWindows(y int, m time.Month, d int, fn func(a Agent, start, end time.Time)) {
	date := time.Date(y, m, d, 0, 0, 0, 0, r.loc)
	o, hasOverride := r.overrides[date.Format(time.DateOnly)]
	if hasOverride && o.Closed {
		return
	}
	wd := date.Weekday()
	for _, a := range r.Agents {
		shifts := r.shifts[a.ID]
		if hasOverride && len(o.Agents) > 0 {
			if !slices.Contains(o.Agents, a.ID) {
				continue
			}
			if o.Hours != "" {
				sh, _ := parseShift("daily " + o.Hours)
				shifts = []shift{sh}
			}
		}
		for _, sh := range shifts {
			if !sh.days[wd] {
				continue
			}
			start := time.Date(y, m, d, 0, sh.start, 0, 0, r.loc)
			end := time.Date(y, m, d, 0, sh.end, 0, 0, r.loc)
			fn(a, start, end)
		}
	}
}

// OnDuty lists the agents whose shift covers now, in roster order.
func (r *Roster) OnDuty(now time.Time) []Agent {
	local := now.In(r.loc)
	var out []Agent
	for off := -1; off <= 0; off++ {
		r.shiftWindows(local.Year(), local.Month(), local.Day()+off, func(a Agent, start, end time.Time) {
			if !now.Before(start) && now.Before(end) && !slices.ContainsFunc(out, func(x Agent) bool { return x.ID == a.ID }) {
				out = append(out, a)
			}
		})
	}
	// keep roster order
	slices.SortStableFunc(out, func(x, y Agent) int { return r.index(x.ID) - r.index(y.ID) })
	return out
}

func (r *Roster) index(id string) int {
	return slices.IndexFunc(r.Agents, func(a Agent) bool { return a.ID == id })
}

// NextShiftStart is the earliest shift start strictly after now (within two weeks); false when
// the roster has no shift in that window.
func (r *Roster) NextShiftStart(now time.Time) (time.Time, bool) {
	local := now.In(r.loc)
	var best time.Time
	for off := 0; off <= maxShiftLookahead; off++ {
		r.shiftWindows(local.Year(), local.Month(), local.Day()+off, func(_ Agent, start, _ time.Time) {
			if start.After(now) && (best.IsZero() || start.Before(best)) {
				best = start
			}
		})
		if !best.IsZero() {
			return best, true
		}
	}
	return time.Time{}, false
}

// Roster sources: where the roster in force comes from.
const (
	SourceDesk = "desk" // the override stored in the desk workflow (PUT /api/v1/roster)
	SourceFile = "file" // the roster file (TIMDESK_ROSTER_FILE)
	SourceNone = "none" // neither
)

// RosterInForce is the roster routing uses and where it comes from.
type RosterInForce struct {
	Roster  *Roster // nil when Source is SourceNone
	YAML    string  // the override's document, or the file's when the caller gave it
	Source  string  // SourceDesk, SourceFile or SourceNone
	Version int     // the desk's roster version (the file counts as the version it went back to)
	// OverrideErr says why a stored override was ignored (it does not parse); nil otherwise.
	OverrideErr error
}

// ResolveRoster applies the rule "desk override, else file": the desk state's roster YAML when it
// is set and parses (with parse, which callers may cache), else the roster file as file returns it
// (nil roster: there is none). An error reading the file is returned with the SourceNone result.
func ResolveRoster(st State, parse func(yaml string) (*Roster, error), file func() (*Roster, string, error)) (RosterInForce, error) {
	res := RosterInForce{Source: SourceNone, Version: st.RosterVersion}
	if st.RosterYAML != "" {
		r, err := parse(st.RosterYAML)
		if err == nil {
			res.Roster, res.YAML, res.Source = r, st.RosterYAML, SourceDesk
			return res, nil
		}
		res.OverrideErr = err
	}
	if file == nil {
		return res, nil
	}
	r, raw, err := file()
	if err != nil {
		return res, err
	}
	if r != nil {
		res.Roster, res.YAML, res.Source = r, raw, SourceFile
	}
	return res, nil
}

// IDs are the roster's agents and supervisors.
func (r *Roster) IDs() []string {
	ids := make([]string, 0, len(r.Agents)+len(r.Supervisors))
	for _, a := range r.Agents {
		ids = append(ids, a.ID)
	}
	return append(ids, r.Supervisors...)
}
