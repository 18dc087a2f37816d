package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/timdesk/timdesk/desk"
)

// Search attribute keys upserted by ConsultationWorkflow whenever they change. Every namespace
// must register them (the dev stack does; see desk.SearchAttributes).
var (
	StatusKey      = temporal.NewSearchAttributeKeyKeyword(desk.StatusAttribute)
	CustomerKey    = temporal.NewSearchAttributeKeyKeyword(desk.CustomerAttribute)
	AgentKey       = temporal.NewSearchAttributeKeyKeyword(desk.AgentAttribute)
	LanguageKey    = temporal.NewSearchAttributeKeyKeyword(desk.LanguageAttribute)
	QueuedSinceKey = temporal.NewSearchAttributeKeyTime(desk.QueuedSinceAttribute)
)

// SearchAttributes is the registration set for testsuite.DevServerOptions.SearchAttributes.
func SearchAttributes() temporal.SearchAttributes {
	return temporal.NewSearchAttributes(StatusKey.ValueSet(""), CustomerKey.ValueSet(""), AgentKey.ValueSet(""), LanguageKey.ValueSet(""),
		QueuedSinceKey.ValueSet(time.Time{}))
}

// saValues are the attribute values last upserted in this run.
type saValues struct {
	Status, Customer, Agent, Language string
	QueuedSince                       time.Time
	set                               bool
}

// loadSearchAttributes starts the run's view from the attributes it was started with (the API's
// SignalWithStart sets Status and Customer; continue-as-new carries them), so the first sync only
// upserts what differs instead of writing an event for values already indexed.
func (s *consultation) loadSearchAttributes(ctx workflow.Context) {
	sa := workflow.GetTypedSearchAttributes(ctx)
	status, ok := sa.GetKeyword(StatusKey)
	if !ok {
		return // nothing indexed yet: the first sync sets everything
	}
	customer, _ := sa.GetKeyword(CustomerKey)
	agent, _ := sa.GetKeyword(AgentKey)
	language, _ := sa.GetKeyword(LanguageKey)
	queued, _ := sa.GetTime(QueuedSinceKey)
	s.sa = saValues{Status: status, Customer: customer, Agent: agent, Language: language, QueuedSince: queued, set: true}
}

// syncSearchAttributes upserts the attributes that changed since the last upsert in this run.
func (s *consultation) syncSearchAttributes(ctx workflow.Context) {
	cur := saValues{Status: s.st.Status, Customer: s.st.Customer, Agent: s.st.Agent, Language: s.st.Language, QueuedSince: s.st.QueuedSince, set: true}
	ups := s.sa.changes(cur)
	if len(ups) == 0 {
		return
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, ups...); err != nil {
		workflow.GetLogger(ctx).Error("upsert search attributes failed", "error", err)
		return
	}
	s.sa = cur
}

// changes lists the updates from the last upserted values to cur: a changed status, customer or
// language is set (an empty language never), a changed agent or queued-since time set or, once
// set, unset.
func (last saValues) changes(cur saValues) []temporal.SearchAttributeUpdate {
	changed := func(a, b string) bool { return !last.set || a != b }
	var ups []temporal.SearchAttributeUpdate
	if changed(last.Status, cur.Status) {
		ups = append(ups, StatusKey.ValueSet(cur.Status))
	}
	if changed(last.Customer, cur.Customer) {
		ups = append(ups, CustomerKey.ValueSet(cur.Customer))
	}
	switch {
	case !changed(last.Agent, cur.Agent):
	case cur.Agent != "":
		ups = append(ups, AgentKey.ValueSet(cur.Agent))
	case last.set:
		ups = append(ups, AgentKey.ValueUnset())
	}
	if changed(last.Language, cur.Language) && cur.Language != "" {
		ups = append(ups, LanguageKey.ValueSet(cur.Language))
	}
	return append(ups, last.queuedSinceChange(cur)...)
}

// queuedSinceChange is the update of QueuedSince: set when it changed to a time, unset when it
// changed to zero after one was set.
func (last saValues) queuedSinceChange(cur saValues) []temporal.SearchAttributeUpdate {
	switch {
	case last.set && last.QueuedSince.Equal(cur.QueuedSince):
	case !cur.QueuedSince.IsZero():
		return []temporal.SearchAttributeUpdate{QueuedSinceKey.ValueSet(cur.QueuedSince)}
	case last.set:
		return []temporal.SearchAttributeUpdate{QueuedSinceKey.ValueUnset()}
	}
	return nil
}
