package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"
)

// Metrics the consultation emits through workflow.GetMetricsHandler, which emits nothing while a
// history replays, so each event is counted once however often a worker replays it. The worker
// serves them on its /metrics page with Prometheus suffixes: counters end in _total, timers in
// _seconds (histograms); every series also carries the SDK's namespace, task_queue and
// workflow_type labels. deploy/grafana-dashboard.json is built on these names.
const (
	// MetricMessages counts messages the consultation handled, label role = customer | agent.
	MetricMessages = "timdesk_messages"
	// MetricAIAnswers counts answers the AI sent to the customer, labels action = answer |
	// clarify and source = llm | faq.
	MetricAIAnswers = "timdesk_ai_answers"
	// MetricHandoffs counts hand-offs from the AI to a person, label trigger: one of
	// HandoffTriggers (a closed set, so the series stay few; the model's own reason for an
	// ai_decided hand-off is kept in the consultation's HandoffReason and the log only).
	MetricHandoffs = "timdesk_handoffs"
	// MetricEscalations counts an assigned agent replaced for not answering, label trigger =
	// accept_timeout | reply_timeout.
	MetricEscalations = "timdesk_escalations"
	// MetricFirstHumanReply is the time from the hand-off to the first message of the agent
	// who then owns the consultation (timer; seconds).
	MetricFirstHumanReply = "timdesk_first_human_reply"
)

// HandoffTrigger is what made the AI hand a customer to a person: the trigger label of
// MetricHandoffs. Its values are the constants below; a string from outside (the model's reason)
// cannot become one without a conversion.
type HandoffTrigger string

// The hand-off triggers.
const (
	HandoffCustomerRequested HandoffTrigger = "customer_requested" // the customer asked for a human
	HandoffLowConfidence     HandoffTrigger = "low_confidence"     // an answer below MinConfidence
	HandoffRepeatedClarify   HandoffTrigger = "repeated_clarify"   // more than MaxClarify questions in a row
	HandoffAttachment        HandoffTrigger = "attachment"         // an image, file, voice or video
	HandoffAIUnavailable     HandoffTrigger = "ai_unavailable"     // the Reply activity failed
	HandoffAIDecided         HandoffTrigger = "ai_decided"         // the model chose handoff (its reason: HandoffReason)
)

// HandoffTriggers is every value of the trigger label of MetricHandoffs.
var HandoffTriggers = []HandoffTrigger{HandoffCustomerRequested, HandoffLowConfidence, HandoffRepeatedClarify,
	HandoffAttachment, HandoffAIUnavailable, HandoffAIDecided}

// count adds one to counter name with labels.
func count(ctx workflow.Context, name string, labels map[string]string) {
	workflow.GetMetricsHandler(ctx).WithTags(labels).Counter(name).Inc(1)
}

// observe records d on timer name.
func observe(ctx workflow.Context, name string, d time.Duration) {
	workflow.GetMetricsHandler(ctx).Timer(name).Record(d)
}
