// Package desk is timdesk's domain: the duty roster and its shifts, the consultation policy with
// its one defaulting, the desk's state (presence, language preferences, roster override), the
// consultation statuses and search-attribute names with their visibility queries, and language
// helpers. It imports no Temporal, Fiber or HTTP package, not even indirectly (of timdesk only
// tim/userid, the UserID rule); api/, workflows/ and activities/ read it.
package desk
