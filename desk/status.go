package desk

import (
	"fmt"
	"strings"
	"time"
)

// Search attribute names (Keyword) the consultation workflow keeps up to date; the Router and the
// admin API count an agent's load with them. Every namespace must register them.
const (
	StatusAttribute   = "TimdeskStatus"   // ai | queued | human | closed
	CustomerAttribute = "TimdeskCustomer" // customer UserID
	AgentAttribute    = "TimdeskAgent"    // assigned agent UserID
	LanguageAttribute = "TimdeskLanguage" // customer's language
)

// SearchAttributeNames lists the custom search attributes, all of type Keyword.
func SearchAttributeNames() []string {
	return []string{StatusAttribute, CustomerAttribute, AgentAttribute, LanguageAttribute}
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

// QueuedBeforeQuery lists the consultations waiting for an agent that started before since: the
// customers ahead in the queue.
func QueuedBeforeQuery(since time.Time) string {
	return QueuedQuery() + " AND StartTime < " + QueryString(since.UTC().Format(time.RFC3339Nano))
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
