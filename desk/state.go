package activities

import "time"

// Search attribute names (Keyword) the consultation workflow keeps up to date; the Router counts
// an agent's load with them. Every namespace must register them.
const (
	StatusAttribute   = "TimdeskStatus"   // ai | queued | human | closed
	CustomerAttribute = "TimdeskCustomer" // customer UserID
	AgentAttribute    = "TimdeskAgent"    // assigned agent UserID
	LanguageAttribute = "TimdeskLanguage" // customer's language
)

// Consultation statuses (values of StatusAttribute).
const (
	StatusAI     = "ai"
	StatusQueued = "queued"
	StatusHuman  = "human"
	StatusClosed = "closed"
)

// DeskState is the desk entity workflow's live state (its "desk" query result): presence per
// user from State.StateChange, user language preferences, and the roster override.
type DeskState struct {
	Presence      map[string]Presence `json:"presence"`
	Languages     map[string]string   `json:"languages"`
	RosterYAML    string              `json:"rosterYAML,omitempty"` // "" = the worker's roster file
	RosterVersion int                 `json:"rosterVersion"`
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

// LanguagePreference is the desk's "language" signal: the language a user reads ("" clears it).
type LanguagePreference struct {
	UserID   string `json:"userID"`
	Language string `json:"language"`
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
