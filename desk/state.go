package desk

import "time"

// State is the desk entity workflow's live state (its "desk" query result): presence per user
// from State.StateChange, user language preferences, and the roster override.
type State struct {
	Presence      map[string]Presence `json:"presence"`
	Languages     map[string]string   `json:"languages"`
	RosterYAML    string              `json:"rosterYAML,omitempty"` // "" = the worker's roster file
	RosterVersion int                 `json:"rosterVersion"`
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

// LanguagePreference is the desk's "language" signal: the language a user reads ("" clears it).
type LanguagePreference struct {
	UserID   string `json:"userID"`
	Language string `json:"language"`
}

// ApplyLanguage records (or, with an empty language, clears) a user's language preference.
func (s *State) ApplyLanguage(p LanguagePreference) {
	if p.UserID == "" {
		return
	}
	if lang := NormalizeLanguage(p.Language); lang != "" {
		s.Languages[p.UserID] = lang
	} else {
		delete(s.Languages, p.UserID)
	}
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

// RouteNow is the argument of a consultation's "route_now" signal, which the desk sends to every
// consultation waiting for an agent when an agent comes online.
type RouteNow struct {
	Reason string `json:"reason"` // e.g. "agent_li online"
	Agent  string `json:"agent,omitempty"`
}
