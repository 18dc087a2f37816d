package desk

import (
	"slices"
	"strings"
	"time"
)

// State is the desk entity workflow's live state (its "desk" query result): presence per user
// from State.StateChange, user language preferences, and the roster override.
type State struct {
	Presence map[string]Presence `json:"presence"`
	// Languages are the preferences set through the admin API (user → language); PreferredAt
	// says when each was set (eviction order).
	Languages   map[string]string    `json:"languages"`
	PreferredAt map[string]time.Time `json:"preferredAt,omitempty"`
	// Detected is the language each user writes in, as an API replica detected it; every replica
	// and the workflows read it here, so it does not matter which replica saw the user write.
	Detected      map[string]DetectedLanguage `json:"detected,omitempty"`
	RosterYAML    string                      `json:"rosterYAML,omitempty"` // "" = the worker's roster file
	RosterVersion int                         `json:"rosterVersion"`
}

// DetectedLanguage is the language a user was last seen writing in, and when it was recorded
// (an API replica records it again after DetectedRefresh, so active users stay fresh).
type DetectedLanguage struct {
	Language string    `json:"language"`
	At       time.Time `json:"at"`
}

// Bounds of the users' languages the desk keeps (its state is a query result and the
// continue-as-new input, under Temporal's 2 MiB payload limit):
//   - at most MaxDetectedLanguages detected languages; beyond it the ones recorded longest ago
//     go first, down to nine tenths, and any older than DetectedLanguageTTL go with them;
//   - at most MaxPreferredLanguages preferences; beyond it the ones set longest ago go.
const (
	MaxDetectedLanguages  = 6_000
	MaxPreferredLanguages = 4_000
	DetectedLanguageTTL   = 90 * 24 * time.Hour
	// DetectedRefresh is how old a recorded detection may be before a replica records it again.
	DetectedRefresh = 7 * 24 * time.Hour
)

// LanguageOf is the language user reads: the preference set through the API, else the language
// they were detected writing in, else "".
func (s State) LanguageOf(user string) string {
	if l := s.Languages[user]; l != "" {
		return l
	}
	return s.Detected[user].Language
}

// NewState is an empty desk state, or st with its maps made (a state carried over by
// continue-as-new may have nil maps).
func NewState(st *State) State {
	var out State
	if st != nil {
		out = *st
	}
	if out.Presence == nil {
		out.Presence = map[string]Presence{}
	}
	if out.Languages == nil {
		out.Languages = map[string]string{}
	}
	if out.PreferredAt == nil {
		out.PreferredAt = map[string]time.Time{}
	}
	if out.Detected == nil {
		out.Detected = map[string]DetectedLanguage{}
	}
	return out
}

// Presence is the latest known login state of a user.
type Presence struct {
	Online bool      `json:"online"`
	At     time.Time `json:"at"`
}

// PresenceEvent is the desk's "presence" signal (from State.StateChange: Login → Online true;
// Logout/Disconnect → false). Older events than the recorded one are ignored.
type PresenceEvent struct {
	UserID string    `json:"userID"`
	Online bool      `json:"online"`
	At     time.Time `json:"at"`
}

// ApplyPresence records ev unless it is older than what is known; it reports whether the user
// came online (offline or unknown before, online now).
func (s *State) ApplyPresence(ev PresenceEvent) (cameOnline bool) {
	if ev.UserID == "" {
		return false
	}
	old, had := s.Presence[ev.UserID]
	if had && old.At.After(ev.At) {
		return false // an older event delivered late
	}
	s.Presence[ev.UserID] = Presence{Online: ev.Online, At: ev.At}
	return ev.Online && (!had || !old.Online)
}

// Offline reports whether id is known to be offline (unknown presence is not offline).
func (s State) Offline(id string) bool {
	p, ok := s.Presence[id]
	return ok && !p.Online
}

// LanguagePreference is the desk's "language" signal: the language a user reads ("" clears it),
// set through the admin API, or (Detected) the language an API replica detected them writing in.
type LanguagePreference struct {
	UserID   string `json:"userID"`
	Language string `json:"language"`
	Detected bool   `json:"detected,omitempty"`
}

// ApplyLanguage records (or, with an empty language, clears) a user's language preference, or a
// detected language, at now; then keeps both within their bounds.
func (s *State) ApplyLanguage(p LanguagePreference, now time.Time) {
	if p.UserID == "" {
		return
	}
	lang := NormalizeLanguage(p.Language)
	switch {
	case p.Detected && lang != "":
		s.Detected[p.UserID] = DetectedLanguage{Language: lang, At: now}
	case p.Detected:
	case lang != "":
		s.Languages[p.UserID], s.PreferredAt[p.UserID] = lang, now
	default:
		delete(s.Languages, p.UserID)
		delete(s.PreferredAt, p.UserID)
	}
	s.boundLanguages(now)
}

// boundLanguages applies the bounds above. It sorts only when a map outgrows its bound, down to
// nine tenths, so a stream of new users costs a sort every thousand of them.
func (s *State) boundLanguages(now time.Time) {
	if len(s.Detected) > MaxDetectedLanguages {
		keep := MaxDetectedLanguages * 9 / 10
		for _, id := range oldestFirst(s.Detected, func(d DetectedLanguage) time.Time { return d.At }) {
			if len(s.Detected) <= keep && now.Sub(s.Detected[id].At) <= DetectedLanguageTTL {
				break
			}
			delete(s.Detected, id)
		}
	}
	if len(s.Languages) > MaxPreferredLanguages {
		keep := MaxPreferredLanguages * 9 / 10
		for _, id := range oldestFirst(s.Languages, func(string) time.Time { return time.Time{} }, s.PreferredAt) {
			if len(s.Languages) <= keep {
				break
			}
			delete(s.Languages, id)
			delete(s.PreferredAt, id)
		}
	}
}

// oldestFirst lists m's keys by time (at(value), or times[key] when given), oldest first, ties by
// key: a deterministic order, whatever the map iteration order.
func oldestFirst[V any](m map[string]V, at func(V) time.Time, times ...map[string]time.Time) []string {
	ids := make([]string, 0, len(m))
	for id := range m { // sorted below: deterministic (workflowcheck.config.yaml)
		ids = append(ids, id)
	}
	when := func(id string) time.Time {
		if len(times) > 0 {
			return times[0][id]
		}
		return at(m[id])
	}
	slices.SortFunc(ids, func(a, b string) int {
		if c := when(a).Compare(when(b)); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	return ids
}

// RosterUpdate is the desk's "roster" update argument: a whole roster YAML document ("" goes
// back to the worker's roster file).
type RosterUpdate struct {
	YAML string `json:"yaml"`
}

// RosterResult is the roster version after an accepted update.
type RosterResult struct {
	Version int `json:"version"`
}

// SlotFreed is the desk's "slot_freed" signal: a consultation no longer holds Agent (closed,
// transferred, handed back to the AI, or the agent was replaced), so a queued customer may take
// the slot.
type SlotFreed struct {
	Agent        string `json:"agent"`
	Consultation string `json:"consultation"`
	Reason       string `json:"reason"` // closed | reassigned | returned_to_ai
}

// RouteNow is the argument of a consultation's "route_now" signal, which the desk sends to every
// consultation waiting for an agent when an agent comes online.
type RouteNow struct {
	Reason string `json:"reason"` // e.g. "agent_li online"
	Agent  string `json:"agent,omitempty"`
}

// ForRouting is the part of the state routing reads (the desk's "routing" query): presence, the
// roster override, and the language preferences of ids (the roster's agents and supervisors) and
// of every user with a presence (only roster agents have one). It leaves out the customers'
// languages, which make up nearly all of a large desk's state (up to MaxDetectedLanguages and
// MaxPreferredLanguages entries, hundreds of kilobytes): routing runs for every hand-off.
func (s State) ForRouting(ids []string) State {
	out := State{Presence: s.Presence, Languages: map[string]string{}, RosterYAML: s.RosterYAML, RosterVersion: s.RosterVersion}
	for _, id := range ids {
		if l, ok := s.Languages[id]; ok {
			out.Languages[id] = l
		}
	}
	for id := range s.Presence {
		if l, ok := s.Languages[id]; ok {
			out.Languages[id] = l
		}
	}
	return out
}
