package desk

import (
	"fmt"
	"strings"
	"time"
)

// Search attribute names the consultation workflow keeps up to date; the Router and the admin
// API count an agent's load and order the queue with them. Every namespace must register them
// (SearchAttributes).
const (
	StatusAttribute   = "TimdeskStatus"   // Keyword: ai | queued | human | closed
	CustomerAttribute = "TimdeskCustomer" // Keyword: customer UserID
	AgentAttribute    = "TimdeskAgent"    // Keyword: assigned agent UserID
	LanguageAttribute = "TimdeskLanguage" // Keyword: customer's language
	// QueuedSinceAttribute (Datetime) is set while the consultation is queued: since when the
	// customer has been waiting for a person (the queue's order: the longest waiting first).
	QueuedSinceAttribute = "TimdeskQueuedSince"
)

// SearchAttribute is a custom search attribute and its type as the Temporal CLI names it
// ("Keyword", "Datetime").
type SearchAttribute struct {
	Name, Type string
}

// SearchAttributes lists the custom search attributes every namespace must register.
func SearchAttributes() []SearchAttribute {
	return []SearchAttribute{{StatusAttribute, "Keyword"}, {CustomerAttribute, "Keyword"}, {AgentAttribute, "Keyword"},
		{LanguageAttribute, "Keyword"}, {QueuedSinceAttribute, "Datetime"}}
}

// Consultation statuses (values of StatusAttribute).
const (
	StatusAI     = "ai"
	StatusQueued = "queued"
	StatusHuman  = "human"
	StatusClosed = "closed"
)

// AgentLoadQuery is the visibility query counting an agent's load: the running consultations
// the agent holds (status human). Closed runs never count.
func AgentLoadQuery(agentID string) string {
	return fmt.Sprintf("%s = %s AND %s = %s AND ExecutionStatus = %s", StatusAttribute, QueryString(StatusHuman),
		AgentAttribute, QueryString(agentID), QueryString("Running"))
}

// QueuedQuery is the visibility query of the running consultations waiting for an agent.
func QueuedQuery() string {
	return fmt.Sprintf("%s = %s AND ExecutionStatus = %s", StatusAttribute, QueryString(StatusQueued), QueryString("Running"))
}

// QueuedAheadQuery lists the consultations waiting for an agent whose customer has waited since
// before since (QueuedSinceAttribute): the customers ahead in the queue of consultation self
// (never counted ahead of itself; "" counts every one).
func QueuedAheadQuery(since time.Time, self string) string {
	q := QueuedQuery() + " AND " + QueuedSinceAttribute + " < " + QueryString(since.UTC().Format(time.RFC3339Nano))
	if self != "" {
		q += " AND WorkflowId != " + QueryString(self)
	}
	return q
}

// QueryString quotes s as a string literal of Temporal's visibility query language: in double
// quotes, with only the backslash and the double quote escaped. Every other byte stays as it is.
// Temporal reads queries with its SQL parser (github.com/temporalio/sqlparser), which knows only
// the MySQL escapes (\\, \", \', \n, \0, ...) and reads any other backslash pair as the bare
// letter: strconv.Quote's \u200d (the zero-width joiner inside emoji such as 👩‍💻) would match
// "u200d", and an agent with such an ID would never have any load. Raw UTF-8 is safe there.
// Known server limit: Temporal's SQL visibility strips every leading and trailing ' from a
// string value, so an ID starting or ending with ' cannot be matched exactly.
func QueryString(s string) string {
	return `"` + queryEscaper.Replace(s) + `"`
}

var queryEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`)
