package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/timdesk/timdesk/activities"
	"github.com/timdesk/timdesk/desk"
	"github.com/timdesk/timdesk/tim"
)

// TaskQueueDefault is the task queue when TIMDESK_TASK_QUEUE is empty.
const TaskQueueDefault = "timdesk"

// Message names of ConsultationWorkflow.
const (
	// SignalMessage carries an InboundMessage from the customer to the service account.
	SignalMessage = "message"
	// UpdateAgentMessage carries an InboundMessage from an agent to the customer; use
	// UpdateID = MsgKey. It returns AgentMessageResult at once: Owned means the workflow took the
	// message (it sends the translated copy From=service account) and the callback should drop it.
	UpdateAgentMessage = "agent_message"
	// SignalClose carries a CloseRequest.
	SignalClose = "close"
	// QueryState returns ConsultationState.
	QueryState = "state"
	// SignalRouteNow (desk.RouteNow) asks a consultation waiting for an agent to route at once
	// instead of at its next retry; the desk sends it (WakeQueued activity) when an agent comes
	// online. Any other consultation ignores it, so it is safe to repeat.
	SignalRouteNow = "route_now"
)

// Owners of a consultation (ConsultationState.Owner).
const (
	OwnerAI    = "ai"
	OwnerQueue = "queue"
	OwnerAgent = "agent"
)

// Phases (ConsultationState.Phase), finer than Owner.
const (
	PhaseAI             = "ai"
	PhaseWaitingShift   = "waiting_shift"   // nobody on duty: waits for NextShift
	PhaseWaitingAgent   = "waiting_agent"   // on duty but nobody free: routes again later
	PhaseAwaitingAccept = "awaiting_accept" // assigned, the agent has not replied yet
	PhaseWithAgent      = "with_agent"
	PhaseClosed         = "closed"
)

// Deadline kinds (ConsultationState.Deadlines).
const (
	DeadlineAccept     = "accept"      // assigned agent's first reply → next rung
	DeadlineReply      = "reply"       // customer waiting on the agent → nudge, then reassign
	DeadlineShift      = "shift"       // next shift starts → route
	DeadlineRetryRoute = "retry_route" // everyone busy → route again
	DeadlineIdle       = "idle"        // inactivity → close with a goodbye
	DeadlineRating     = "rating"      // closed: the rating reply is awaited until then
)

// InboundMessage is a chat message from a Tencent IM callback. MsgKey is the dedupe key.
type InboundMessage struct {
	MsgKey string
	From   string
	To     string
	// Body is the message as sent, every element; its non-text elements (images, files...) are
	// forwarded as they came, after the text.
	Body   tim.MsgBody
	Text   string // Body's text elements joined (Body.Text()); required for text messages
	SentAt time.Time
	// AnswerBy is when the callback that sent an agent message stops waiting for the update's
	// answer (and tells Tencent the send failed). The update is refused after it, so a message the
	// sender saw fail — and will resend — is never also delivered late (a worker that was down
	// picks up admitted updates when it returns). Zero means no deadline.
	AnswerBy time.Time `json:",omitzero"`
}

// ErrTypeAgentMessageExpired is the ApplicationError type of the rejection of an agent message
// whose callback gave up waiting (AnswerBy): the caller must report the send as failed, never let
// the original through.
const ErrTypeAgentMessageExpired = "AgentMessageExpired"

func errAgentMessageExpired() error {
	return temporal.NewApplicationError("agent message: the callback stopped waiting for it", ErrTypeAgentMessageExpired)
}

// text is the message text. The caller fills Text (Body.Text()); the workflow does not decode
// Body itself, which keeps JSON decoding out of workflow code.
func (m InboundMessage) text() string { return m.Text }

// AgentMessageResult answers UpdateAgentMessage.
type AgentMessageResult struct {
	Owned bool
	// Reason: "owner", "duplicate", "not_owner" (another agent owns the consultation),
	// "timed_out" (the sender was replaced for not answering: a late reply), "no_agent" (the AI
	// or the queue has it), "closed".
	Reason string
	// Owner is the agent who owns the consultation when the sender does not ("" when nobody does).
	Owner string `json:",omitempty"`
}

// CloseRequest asks the consultation to close (goodbye, rating prompt, complete).
type CloseRequest struct {
	Reason string
	By     string
}

// ConsultationInput starts (or continues) a consultation. Only Customer is required.
type ConsultationInput struct {
	Customer       string
	ServiceAccount string // default "support"
	// Policy overrides the Policy activity (tests, special customers); nil reads it each run.
	Policy *desk.Policy `json:",omitempty"`
	// MaxMessagesPerRun continues-as-new after this many handled messages (test hook; 0 = only
	// when Temporal suggests it).
	MaxMessagesPerRun int `json:",omitempty"`
	// Carry is the state handed over by continue-as-new.
	Carry *CarryOver `json:",omitempty"`
}

// CarryOver is what continue-as-new hands to the next run: the whole state (dedupe window,
// absolute deadlines, transcript) and the messages accepted but not yet processed.
type CarryOver struct {
	State        ConsultationState
	Pending      []InboundMessage `json:",omitempty"`
	PendingAgent []InboundMessage `json:",omitempty"`
	Close        *CloseRequest    `json:",omitempty"`
}

// ConsultationResult is returned when the consultation closes.
type ConsultationResult struct {
	Customer string
	Reason   string
	ClosedBy string
	Steps    int
	ClosedAt time.Time
	Rating   int `json:",omitempty"` // 1..5 when the customer answered the rating prompt
}

// ConsultationState is the live state, carried across continue-as-new and returned by the
// "state" query. Times are absolute (UTC).
type ConsultationState struct {
	Customer       string `json:"customer"`
	ServiceAccount string `json:"serviceAccount"`
	Owner          string `json:"owner"`  // ai | queue | agent
	Status         string `json:"status"` // TimdeskStatus: ai | queued | human | closed
	Phase          string `json:"phase"`
	Step           int    `json:"step"` // sequence of handled events and sends (send keys derive from it)
	Language       string `json:"language,omitempty"`
	// TranslationStatus is "on" with an LLM configured, else "off" (never a fake translation).
	TranslationStatus string `json:"translationStatus"`

	Agent         string   `json:"agent,omitempty"`
	AgentName     string   `json:"agentName,omitempty"`
	AgentLanguage string   `json:"agentLanguage,omitempty"`
	Accepted      bool     `json:"accepted"`           // the assigned agent has replied
	TimedOut      []string `json:"timedOut,omitempty"` // not picked again in this ladder round
	// Round is the escalation ladder round (0 or 1: the first). When routing finds nobody only
	// because every usable agent timed out, TimedOut is cleared and the next round starts.
	Round         int    `json:"round,omitempty"`
	HandoffReason string `json:"handoffReason,omitempty"`
	// HandoffAt is when the AI handed the customer to a person, until that person's first
	// message (the timdesk_first_human_reply_seconds observation); zero otherwise.
	HandoffAt    time.Time `json:"handoffAt,omitzero"`
	Summary      string    `json:"summary,omitempty"`
	ClarifyCount int       `json:"clarifyCount"`

	Transcript        []TranscriptEntry `json:"transcript"`
	TranscriptDropped int               `json:"transcriptDropped,omitempty"`

	// Deadlines lists the pending deadlines (filled for the query from the fields below).
	Deadlines      []Deadline `json:"deadlines"`
	AcceptDeadline time.Time  `json:"acceptDeadline,omitzero"`
	ReplyDeadline  time.Time  `json:"replyDeadline,omitzero"`
	ReplyNudged    bool       `json:"replyNudged,omitempty"`
	ShiftWaitUntil time.Time  `json:"shiftWaitUntil,omitzero"`
	RetryRouteAt   time.Time  `json:"retryRouteAt,omitzero"`
	IdleDeadline   time.Time  `json:"idleDeadline,omitzero"`
	// QueueIdleBy is, while no agent has accepted, the latest the consultation closes for
	// inactivity: QueueIdleTimeout after the customer's last message (or the agent's), or after
	// the start of the shift the customer was waiting for (ShiftGrace), whatever ladder rounds,
	// re-assignments or shift waits come between. Zero: counted afresh from
	// the transcript.
	QueueIdleBy time.Time `json:"queueIdleBy,omitzero"`
	// ShiftGrace is the shift start QueueIdleBy was counted from; once per customer message, so a
	// later shift nobody logs in to never extends it again.
	ShiftGrace time.Time `json:"shiftGrace,omitzero"`

	LastRouting  *RoutingDecision `json:"lastRouting,omitempty"`
	RoutingCount int              `json:"routingCount"`
	Unavailable  int              `json:"unavailable,omitempty"` // routing attempts in a row that found nobody
	// QueuePosition is the place in the queue the customer was last told (1 = next; 0 = never).
	QueuePosition int `json:"queuePosition,omitempty"`
	// QueuedSince is, while the consultation is queued, since when the customer has been waiting
	// for a person: the hand-off when nobody has answered them since (an agent who timed out does
	// not send them to the back), else when they entered the queue. Zero when not queued. The
	// queue is served in this order (the search attribute TimdeskQueuedSince).
	QueuedSince time.Time `json:"queuedSince,omitzero"`

	Notified map[string]bool `json:"notified,omitempty"` // one-off notices already sent
	// OffHoursNotice is the key of the last off-hours notice (one field instead of a Notified key
	// per next-shift time, so the state stays bounded).
	OffHoursNotice string    `json:"offHoursNotice,omitempty"`
	RatingAsked    bool      `json:"ratingAsked"`
	RatingUntil    time.Time `json:"ratingUntil,omitzero"` // closed, waiting for the rating reply
	Rating         int       `json:"rating,omitempty"`     // 1..5 from the customer's reply
	Seen           []SeenKey `json:"seen,omitempty"`       // bounded MsgKey dedupe window

	Policy     desk.Policy `json:"policy"`
	StartedAt  time.Time   `json:"startedAt"`
	FirstRunID string      `json:"firstRunID"`
	Runs       int         `json:"runs"` // continue-as-new count + 1
	ClosedBy   string      `json:"closedBy,omitempty"`
	CloseNote  string      `json:"closeReason,omitempty"`
}

// TranscriptEntry is one message of the consultation.
type TranscriptEntry struct {
	Seq               int       `json:"seq"`
	At                time.Time `json:"at"`
	Role              string    `json:"role"` // customer | ai | agent | system
	Sender            string    `json:"sender,omitempty"`
	MsgKey            string    `json:"msgKey,omitempty"`
	Text              string    `json:"text"`               // original text
	Language          string    `json:"language,omitempty"` // detected (customer) or known (agent)
	Translated        string    `json:"translated,omitempty"`
	TranslatedTo      string    `json:"translatedTo,omitempty"`
	TranslationStatus string    `json:"translationStatus,omitempty"` // translated | same | off | failed
	Delivered         bool      `json:"delivered"`                   // outbound: sent; customer: relayed or answered
	// Body holds the message's non-text elements (image, file, voice, video, face, location,
	// custom), forwarded as they came: a customer's are relayed to the agent who takes the
	// consultation; an agent's were sent to the customer. Text elements stay in Text.
	Body tim.MsgBody `json:"body,omitempty"`
	// BodyDropped: Body was removed to keep the transcript's bodies under 256 KB (oldest first).
	BodyDropped bool `json:"bodyDropped,omitempty"`
	// TextTrimmed: Text and Translated were cut to a short prefix ending in "…" to keep the
	// transcript's texts under 1 MiB (oldest first).
	TextTrimmed bool `json:"textTrimmed,omitempty"`
}

// Deadline is a pending durable timer.
type Deadline struct {
	Kind string    `json:"kind"`
	At   time.Time `json:"at"`
}

// RoutingDecision is the last Route result and what triggered it.
type RoutingDecision struct {
	Trigger   string    `json:"trigger"` // customer_requested, low_confidence, accept_timeout, transfer, ...
	Decision  string    `json:"decision"`
	Agent     string    `json:"agent,omitempty"`
	Reason    string    `json:"reason"`
	NextShift time.Time `json:"nextShift,omitzero"`
	At        time.Time `json:"at"`
}

// SeenKey is one MsgKey of the dedupe window; Owned remembers an agent message's answer.
type SeenKey struct {
	Key   string `json:"key"`
	Owned bool   `json:"owned,omitempty"`
}

// Bounds of the carried state.
const (
	dedupeWindow      = 500
	maxTranscript     = 200
	relayBacklog      = 20
	answerContextSize = 20
)

// ConsultationWorkflow runs one consultation; see doc.go for the flows.
func ConsultationWorkflow(ctx workflow.Context, in ConsultationInput) (ConsultationResult, error) {
	if in.Customer == "" {
		return ConsultationResult{}, temporal.NewNonRetryableApplicationError("consultation: customer is required", activities.ErrTypeBadInput, nil)
	}
	return newConsultation(ctx, in).run(ctx)
}

// consultation is the workflow's state plus run-local bookkeeping.
type consultation struct {
	in           ConsultationInput
	st           ConsultationState
	inbox        []InboundMessage // customer messages to process
	agentInbox   []InboundMessage // owned agent messages to process
	closeReq     *CloseRequest
	handled      int // messages handled in this run
	updates      int // agent_message updates accepted in this run (Temporal allows 2,000 per run)
	sa           saValues
	seen         map[string]int // MsgKey → index in st.Seen
	msgCh        workflow.ReceiveChannel
	closeCh      workflow.ReceiveChannel
	routeNowCh   workflow.ReceiveChannel
	routeNow     *desk.RouteNow // a route_now signal not handled yet
	workflowID   string
	fresh        bool // the first run of this consultation
	continueNext bool // CAN requested because messages arrived while closing
	timer        *deadlineTimer
	// since is when the event being handled happened (a message's SentAt, a deadline): the
	// earliest an earlier attempt of the sends it causes may have run (SendInput.Since).
	since time.Time
	// lastInbound is when this run last took a message signalled or updated to it (not one
	// carried from an earlier run): a replay of it can pass the callback's signature check until
	// replayWindow later, and Temporal drops it by request ID only while this run is open.
	lastInbound time.Time
}

// newConsultation takes the carried state, or a fresh one on the consultation's first run.
func newConsultation(ctx workflow.Context, in ConsultationInput) *consultation {
	info := workflow.GetInfo(ctx)
	s := &consultation{in: in, workflowID: info.WorkflowExecution.ID, seen: map[string]int{}}
	if in.ServiceAccount == "" {
		s.in.ServiceAccount = desk.DefaultServiceAccount
	}
	if in.Carry != nil {
		s.st = in.Carry.State
		s.inbox = append(s.inbox, in.Carry.Pending...)
		s.agentInbox = append(s.agentInbox, in.Carry.PendingAgent...)
		s.closeReq = in.Carry.Close
		s.st.Runs++
	} else {
		s.fresh = true
		s.st = freshState(in.Customer, s.in.ServiceAccount, workflow.Now(ctx), info.WorkflowExecution.RunID)
	}
	if s.st.Notified == nil {
		s.st.Notified = map[string]bool{}
	}
	for i, k := range s.st.Seen {
		s.seen[k.Key] = i
	}
	return s
}

// freshState is the state a consultation starts with: the AI owns it.
func freshState(customer, serviceAccount string, now time.Time, firstRunID string) ConsultationState {
	st := ConsultationState{
		Customer:       customer,
		ServiceAccount: serviceAccount,
		StartedAt:      now,
		FirstRunID:     firstRunID,
		Runs:           1,
		Notified:       map[string]bool{},
	}
	st.setPhase(PhaseAI)
	return st
}

// setPhase moves the consultation to phase p. Phase is the one source of truth: Owner and Status
// follow from it (a closed consultation keeps the owner it closed from).
func (st *ConsultationState) setPhase(p string) {
	st.Phase = p
	switch p {
	case PhaseAI:
		st.Owner, st.Status = OwnerAI, desk.StatusAI
	case PhaseWaitingShift, PhaseWaitingAgent:
		st.Owner, st.Status = OwnerQueue, desk.StatusQueued
	case PhaseAwaitingAccept, PhaseWithAgent:
		st.Owner, st.Status = OwnerAgent, desk.StatusHuman
	case PhaseClosed:
		st.Status = desk.StatusClosed
	}
	if st.Status != desk.StatusQueued {
		st.QueuedSince = time.Time{}
	}
}

// run is the event loop: listen, read the policy, then take one step at a time until the
// consultation closes or continues as new. Search attributes are upserted only when they change.
//
// The hot path — a customer message the AI answers — is one workflow task: the Reply and Send
// local activities (language, translation for the desk and the decision in one model call, or the
// FAQ offline) leave two markers, so a message adds about 7 history events (e2e
// TestFAQMessageHistoryEvents keeps it at most 8). The language of other messages comes from the
// DetectLanguage local activity (the desk's record of the customer, read through the worker's
// cache, then the script, then the LLM).
func (s *consultation) run(ctx workflow.Context) (ConsultationResult, error) {
	if err := s.listen(ctx); err != nil {
		return ConsultationResult{}, err
	}
	s.readPolicy(ctx)
	if s.st.IdleDeadline.IsZero() {
		s.resetIdle(ctx)
	}
	s.loadSearchAttributes(ctx)
	s.syncSearchAttributes(ctx)
	for {
		if s.shouldContinueAsNew(ctx) {
			return ConsultationResult{}, s.continueAsNew(ctx)
		}
		if s.closeReq != nil && len(s.agentInbox) == 0 && !s.customerCameBack() {
			s.since = s.now(ctx)
			return s.close(ctx, *s.closeReq)
		}
		fired, err := s.step(ctx)
		if err != nil {
			return ConsultationResult{}, err
		}
		if !fired { // a fired deadline's changes are upserted after the next step
			s.syncSearchAttributes(ctx)
		}
	}
}

// eventTime is when a message was sent (its SentAt), or now when it has none or claims a later time.
func (s *consultation) eventTime(ctx workflow.Context, sent time.Time) time.Time {
	now := s.now(ctx)
	if sent.IsZero() || sent.After(now) {
		return now
	}
	return sent.UTC()
}

// step handles the next piece of work in priority order: a customer back before the inactivity
// close, agent messages (those owned before a close are delivered before closing), customer
// messages, a wake-up (route_now), then the earliest deadline. It reports whether a deadline
// fired. Deadlines are absolute times in the state, so they survive continue-as-new and restarts;
// the one deadline timer is kept while the earliest deadline only moves later (deadlineTimer).
func (s *consultation) step(ctx workflow.Context) (fired bool, err error) {
	switch {
	case s.customerCameBack():
		s.closeReq = nil
	case len(s.agentInbox) > 0:
		s.handleAgentMessage(ctx, s.take(ctx, &s.agentInbox))
	case len(s.inbox) > 0:
		s.handleCustomerMessage(ctx, s.take(ctx, &s.inbox))
	case s.routeNow != nil:
		req := *s.routeNow
		s.routeNow = nil
		s.since = s.now(ctx)
		if s.waitingForAgent() {
			s.routeAtOnce(ctx, req)
		}
	default:
		return s.awaitDeadline(ctx)
	}
	return false, nil
}

// take removes the oldest message of inbox and makes it the event being handled.
func (s *consultation) take(ctx workflow.Context, inbox *[]InboundMessage) InboundMessage {
	m := (*inbox)[0]
	*inbox = (*inbox)[1:]
	s.handled++
	s.since = s.eventTime(ctx, m.SentAt)
	return m
}

// customerCameBack: the customer wrote just before the inactivity close took effect.
func (s *consultation) customerCameBack() bool {
	return s.closeReq != nil && s.closeReq.Reason == reasonInactivity && len(s.inbox) > 0
}

// listen registers the query and update handlers and pumps the signals into the inboxes.
func (s *consultation) listen(ctx workflow.Context) error {
	if err := s.registerHandlers(ctx); err != nil {
		return err
	}
	s.msgCh = workflow.GetSignalChannel(ctx, SignalMessage)
	s.closeCh = workflow.GetSignalChannel(ctx, SignalClose)
	pumpSignals(ctx, s.msgCh, func(m InboundMessage) { s.acceptCustomer(ctx, m) })
	pumpSignals(ctx, s.closeCh, s.acceptClose)
	s.routeNowCh = workflow.GetSignalChannel(ctx, SignalRouteNow)
	pumpSignals(ctx, s.routeNowCh, s.acceptRouteNow)
	return nil
}

// readPolicy takes the policy from the input, else from the Policy activity (once per run,
// recorded in history), with desk.Policy's defaults.
func (s *consultation) readPolicy(ctx workflow.Context) {
	if s.in.Policy != nil {
		s.st.Policy = *s.in.Policy
	} else if s.fresh || s.st.Policy.AcceptTimeout == 0 {
		var p desk.Policy
		if err := workflow.ExecuteLocalActivity(withLocalOptions(ctx), router.Policy).Get(ctx, &p); err != nil {
			workflow.GetLogger(ctx).Warn("policy activity failed; using defaults", "error", err)
			p = desk.DefaultPolicy()
		}
		s.st.Policy = p
	}
	s.st.Policy = s.st.Policy.WithDefaults()
	s.st.TranslationStatus = "off"
	if s.st.Policy.TranslationEnabled {
		s.st.TranslationStatus = "on"
	}
}
