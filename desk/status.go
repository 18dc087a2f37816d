package desk

import (
	"fmt"
	"strconv"
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
	return fmt.Sprintf("%s = %s AND %s = %s AND ExecutionStatus = %s", StatusAttribute, strconv.Quote(StatusHuman),
		AgentAttribute, strconv.Quote(agentID), strconv.Quote("Running"))
}

// QueuedQuery is the visibility query of the running consultations waiting for an agent.
func QueuedQuery() string {
	return fmt.Sprintf("%s = %s AND ExecutionStatus = %s", StatusAttribute, strconv.Quote(StatusQueued), strconv.Quote("Running"))
}

// QueuedBeforeQuery lists the consultations waiting for an agent that started before since: the
// customers ahead in the queue.
func QueuedBeforeQuery(since time.Time) string {
	return QueuedQuery() + " AND StartTime < " + strconv.Quote(since.UTC().Format(time.RFC3339Nano))
}
