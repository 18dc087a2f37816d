package desk

import (
	"slices"
	"time"
)

// Policy is the consultation's configuration: the worker's settings (TIMDESK_*) with the roster's
// timeouts, read once per run by the Policy activity.
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

// DefaultDeskLanguage is the agents' language when neither the roster nor the desk says.
const DefaultDeskLanguage = "en"

// DefaultPolicy is the policy without any environment overrides.
func DefaultPolicy() Policy {
	return Policy{
		DeskLanguage:     DefaultDeskLanguage,
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

// WithDefaults is the one defaulting of a policy: an empty desk language, nil keywords and zero
// or negative durations take DefaultPolicy's values (RetryRouteAfter: the accept timeout).
// MinConfidence, MaxClarify and the booleans are kept as they are (zero is meaningful).
func (p Policy) WithDefaults() Policy {
	d := DefaultPolicy()
	if p.DeskLanguage == "" {
		p.DeskLanguage = d.DeskLanguage
	}
	if p.HumanKeywords == nil {
		p.HumanKeywords = d.HumanKeywords
	}
	for _, f := range []struct{ v, def *time.Duration }{
		{&p.AIIdleTimeout, &d.AIIdleTimeout}, {&p.QueueIdleTimeout, &d.QueueIdleTimeout},
		{&p.HumanIdleTimeout, &d.HumanIdleTimeout}, {&p.AcceptTimeout, &d.AcceptTimeout},
		{&p.ReplyTimeout, &d.ReplyTimeout}, {&p.RatingWindow, &d.RatingWindow},
	} {
		if *f.v <= 0 {
			*f.v = *f.def
		}
	}
	if p.RetryRouteAfter <= 0 {
		p.RetryRouteAfter = p.AcceptTimeout
	}
	return p
}

// WithRoster takes the roster's timeouts (a nil roster changes nothing).
func (p Policy) WithRoster(r *Roster) Policy {
	if r != nil {
		p.AcceptTimeout, p.ReplyTimeout = r.AcceptTimeout, r.ReplyTimeout
	}
	return p
}

// AgentLanguage is the language agent a reads: the desk preference, else the roster's, else the
// desk language.
func (s State) AgentLanguage(a Agent, deskLanguage string) string {
	if l := NormalizeLanguage(s.Languages[a.ID]); l != "" {
		return l
	}
	if a.Language != "" {
		return a.Language
	}
	if deskLanguage != "" {
		return deskLanguage
	}
	return DefaultDeskLanguage
}

// DefaultServiceAccount is the account customers write to and answers come from when
// TIMDESK_SERVICE_ACCOUNT is unset.
const DefaultServiceAccount = "support"
