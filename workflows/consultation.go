package workflows

import (
	"errors"
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
	PhaseRouting        = "routing"
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
	Owned  bool
	Reason string // "owner", "duplicate", "not_owner", "no_agent", "closed"
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
	Summary       string `json:"summary,omitempty"`
	ClarifyCount  int    `json:"clarifyCount"`

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
	s, err := newConsultation(ctx, in)
	if err != nil {
		return ConsultationResult{}, err
	}
	return s.run(ctx)
}

// consultation is the workflow's state plus run-local bookkeeping.
type consultation struct {
	in           ConsultationInput
	st           ConsultationState
	inbox        []InboundMessage // customer messages to process
	agentInbox   []InboundMessage // owned agent messages to process
	closeReq     *CloseRequest
	handled      int // messages handled in this run
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
}

// deadlineTimer is the one durable timer for the earliest deadline; it is kept while that
// deadline stays the earliest and cancelled when it moves.
type deadlineTimer struct {
	at     time.Time
	future workflow.Future
	cancel workflow.CancelFunc
}

// wait blocks until there is work or the earliest deadline (kind at) passes.
func (s *consultation) wait(ctx workflow.Context, kind string, at, now time.Time) error {
	work := func() bool {
		return s.closeReq != nil || len(s.inbox) > 0 || len(s.agentInbox) > 0 || s.routeNow != nil
	}
	if s.timer != nil && (kind == "" || !s.timer.at.Equal(at)) {
		s.timer.cancel()
		s.timer = nil
	}
	if kind == "" {
		return workflow.Await(ctx, work)
	}
	if s.timer == nil {
		tctx, cancel := workflow.WithCancel(ctx)
		f := workflow.NewTimerWithOptions(tctx, at.Sub(now), workflow.TimerOptions{Summary: "deadline " + kind})
		s.timer = &deadlineTimer{at: at, future: f, cancel: cancel}
	}
	t := s.timer
	if err := workflow.Await(ctx, func() bool { return work() || t.future.IsReady() }); err != nil {
		return err
	}
	if t.future.IsReady() {
		s.timer = nil
	}
	return nil
}

func newConsultation(ctx workflow.Context, in ConsultationInput) (*consultation, error) {
	info := workflow.GetInfo(ctx)
	s := &consultation{in: in, workflowID: info.WorkflowExecution.ID, seen: map[string]int{}}
	if in.ServiceAccount == "" {
		s.in.ServiceAccount = "support"
	}
	if in.Carry != nil {
		s.st = in.Carry.State
		s.inbox = append(s.inbox, in.Carry.Pending...)
		s.agentInbox = append(s.agentInbox, in.Carry.PendingAgent...)
		s.closeReq = in.Carry.Close
		s.st.Runs++
	} else {
		s.fresh = true
		now := workflow.Now(ctx)
		s.st = ConsultationState{
			Customer:       in.Customer,
			ServiceAccount: s.in.ServiceAccount,
			Owner:          OwnerAI,
			Status:         desk.StatusAI,
			Phase:          PhaseAI,
			StartedAt:      now,
			FirstRunID:     info.WorkflowExecution.RunID,
			Runs:           1,
			Notified:       map[string]bool{},
		}
	}
	if s.st.Notified == nil {
		s.st.Notified = map[string]bool{}
	}
	for i, k := range s.st.Seen {
		s.seen[k.Key] = i
	}
	return s, nil
}

func (s *consultation) run(ctx workflow.Context) (ConsultationResult, error) {
	logger := workflow.GetLogger(ctx)

	if err := s.registerHandlers(ctx); err != nil {
		return ConsultationResult{}, err
	}
	s.msgCh = workflow.GetSignalChannel(ctx, SignalMessage)
	s.closeCh = workflow.GetSignalChannel(ctx, SignalClose)
	pumpSignals(ctx, s.msgCh, func(m InboundMessage) { s.acceptCustomer(ctx, m) })
	pumpSignals(ctx, s.closeCh, s.acceptClose)
	s.routeNowCh = workflow.GetSignalChannel(ctx, SignalRouteNow)
	pumpSignals(ctx, s.routeNowCh, s.acceptRouteNow)

	// Policy: from the input, else the Policy activity (once per run, recorded in history).
	if s.in.Policy != nil {
		s.st.Policy = *s.in.Policy
	} else if s.fresh || s.st.Policy.AcceptTimeout == 0 {
		var p desk.Policy
		if err := workflow.ExecuteActivity(withLocalOptions(ctx), router.Policy).Get(ctx, &p); err != nil {
			logger.Warn("policy activity failed; using defaults", "error", err)
			p = desk.DefaultPolicy()
		}
		s.st.Policy = p
	}
	s.st.Policy = s.st.Policy.WithDefaults()
	s.st.TranslationStatus = "off"
	if s.st.Policy.TranslationEnabled {
		s.st.TranslationStatus = "on"
	}
	if s.st.IdleDeadline.IsZero() {
		s.resetIdle(ctx)
	}
	s.syncSearchAttributes(ctx)

	for {
		if s.shouldContinueAsNew(ctx) {
			return ConsultationResult{}, s.continueAsNew(ctx)
		}
		switch {
		case s.closeReq != nil && s.closeReq.Reason == reasonInactivity && len(s.inbox) > 0:
			s.closeReq = nil // the customer came back just in time
		case s.closeReq != nil && len(s.agentInbox) > 0:
			// owned before the close: the original was dropped, so deliver it before closing
			m := s.agentInbox[0]
			s.agentInbox = s.agentInbox[1:]
			s.handled++
			s.handleAgentMessage(ctx, m)
		case s.closeReq != nil:
			return s.close(ctx, *s.closeReq)
		case len(s.agentInbox) > 0:
			m := s.agentInbox[0]
			s.agentInbox = s.agentInbox[1:]
			s.handled++
			s.handleAgentMessage(ctx, m)
		case len(s.inbox) > 0:
			m := s.inbox[0]
			s.inbox = s.inbox[1:]
			s.handled++
			s.handleCustomerMessage(ctx, m)
		case s.routeNow != nil:
			req := *s.routeNow
			s.routeNow = nil
			if s.waitingForAgent() {
				s.routeAtOnce(ctx, req)
			}
		default:
			kind, at := s.nextDeadline()
			now := workflow.Now(ctx)
			if kind != "" && !now.Before(at) {
				s.fire(ctx, kind)
				continue
			}
			if err := s.wait(ctx, kind, at, now); err != nil {
				return ConsultationResult{}, err
			}
		}
		s.syncSearchAttributes(ctx)
	}
}

func (s *consultation) registerHandlers(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (ConsultationState, error) {
		return s.snapshot(), nil
	}); err != nil {
		return err
	}
	return workflow.SetUpdateHandlerWithOptions(ctx, UpdateAgentMessage,
		func(ctx workflow.Context, m InboundMessage) (AgentMessageResult, error) {
			return s.acceptAgent(ctx, m), nil
		},
		workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, m InboundMessage) error {
			if m.From == "" {
				return errors.New("agent message: From is required")
			}
			// Validators are not in history (a rejection writes nothing); workflow.Now is the time
			// of the task delivering the update.
			if !m.AnswerBy.IsZero() && workflow.Now(ctx).After(m.AnswerBy) {
				return errAgentMessageExpired()
			}
			return nil
		}},
	)
}

// snapshot is the query view: the state with its pending deadlines listed.
func (s *consultation) snapshot() ConsultationState {
	st := s.st
	st.Deadlines = nil
	for _, d := range []Deadline{
		{DeadlineAccept, s.st.AcceptDeadline}, {DeadlineReply, s.st.ReplyDeadline},
		{DeadlineShift, s.st.ShiftWaitUntil}, {DeadlineRetryRoute, s.st.RetryRouteAt},
		{DeadlineIdle, s.st.IdleDeadline},
	} {
		if !d.At.IsZero() && st.Phase != PhaseClosed {
			st.Deadlines = append(st.Deadlines, d)
		}
	}
	if !s.st.RatingUntil.IsZero() {
		st.Deadlines = append(st.Deadlines, Deadline{DeadlineRating, s.st.RatingUntil})
	}
	if st.Transcript == nil {
		st.Transcript = []TranscriptEntry{}
	}
	return st
}

// nextDeadline is the earliest pending deadline (ties: list order).
func (s *consultation) nextDeadline() (string, time.Time) {
	kind, at := "", time.Time{}
	for _, d := range []Deadline{
		{DeadlineAccept, s.st.AcceptDeadline}, {DeadlineReply, s.st.ReplyDeadline},
		{DeadlineShift, s.st.ShiftWaitUntil}, {DeadlineRetryRoute, s.st.RetryRouteAt},
		{DeadlineIdle, s.st.IdleDeadline},
	} {
		if !d.At.IsZero() && (kind == "" || d.At.Before(at)) {
			kind, at = d.Kind, d.At
		}
	}
	return kind, at
}

// remember adds key to the bounded dedupe window; it reports false when the key was seen.
func (s *consultation) remember(key string, owned bool) bool {
	if key == "" {
		return true
	}
	if _, ok := s.seen[key]; ok {
		return false
	}
	s.st.Seen = append(s.st.Seen, SeenKey{Key: key, Owned: owned})
	if len(s.st.Seen) > dedupeWindow {
		s.st.Seen = s.st.Seen[len(s.st.Seen)-dedupeWindow:]
		s.seen = make(map[string]int, len(s.st.Seen))
		for i, k := range s.st.Seen {
			s.seen[k.Key] = i
		}
	} else {
		s.seen[key] = len(s.st.Seen) - 1
	}
	return true
}

// acceptCustomer queues a customer message unless its MsgKey was seen.
func (s *consultation) acceptCustomer(ctx workflow.Context, m InboundMessage) {
	if !s.remember(m.MsgKey, false) {
		workflow.GetLogger(ctx).Info("duplicate customer message dropped", "msgKey", m.MsgKey)
		return
	}
	s.inbox = append(s.inbox, m)
}

// acceptRouteNow keeps one pending route_now request (a burst of them routes once).
func (s *consultation) acceptRouteNow(r desk.RouteNow) {
	if s.routeNow == nil {
		s.routeNow = &r
	}
}

func (s *consultation) acceptClose(c CloseRequest) {
	if s.closeReq == nil {
		if c.Reason == "" {
			c.Reason = "closed"
		}
		s.closeReq = &c
	}
}

// acceptAgent answers the agent_message update: owned messages are queued for the main loop.
func (s *consultation) acceptAgent(ctx workflow.Context, m InboundMessage) AgentMessageResult {
	if i, ok := s.seen[m.MsgKey]; ok && m.MsgKey != "" {
		return AgentMessageResult{Owned: s.st.Seen[i].Owned, Reason: "duplicate"}
	}
	res := AgentMessageResult{Owned: true, Reason: "owner"}
	switch {
	case s.closeReq != nil || s.st.Phase == PhaseClosed:
		res = AgentMessageResult{Reason: "closed"}
	case s.st.Owner != OwnerAgent || s.st.Agent == "":
		res = AgentMessageResult{Reason: "no_agent"}
	case s.st.Agent != m.From:
		res = AgentMessageResult{Reason: "not_owner"}
	}
	s.remember(m.MsgKey, res.Owned)
	if res.Owned {
		s.agentInbox = append(s.agentInbox, m)
	}
	workflow.GetLogger(ctx).Info("agent message", "from", m.From, "owned", res.Owned, "reason", res.Reason)
	return res
}

// shouldContinueAsNew: Temporal suggests it, or the test hook's message count is reached.
func (s *consultation) shouldContinueAsNew(ctx workflow.Context) bool {
	if s.continueNext {
		return true
	}
	if s.in.MaxMessagesPerRun > 0 && s.handled >= s.in.MaxMessagesPerRun {
		return true
	}
	return workflow.GetInfo(ctx).GetContinueAsNewSuggested()
}

// continueAsNew drains the signal channels, waits for running handlers, and continues with the
// whole state and the unprocessed messages.
func (s *consultation) continueAsNew(ctx workflow.Context) error {
	s.drainSignals(ctx)
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return err
	}
	s.drainSignals(ctx)
	next := s.in
	next.Carry = &CarryOver{State: s.st, Pending: s.inbox, PendingAgent: s.agentInbox}
	next.Carry.State.Deadlines = nil
	if s.routeNow != nil && s.waitingForAgent() {
		// a wake-up not handled yet: the next run routes at once
		next.Carry.State.RetryRouteAt = s.now(ctx)
	}
	if !s.continueNext {
		next.Carry.Close = s.closeReq // a close that arrived while draining: the next run handles it
	}
	workflow.GetLogger(ctx).Info("continuing as new", "step", s.st.Step, "pending", len(s.inbox), "handled", s.handled)
	return workflow.NewContinueAsNewError(ctx, ConsultationWorkflow, next)
}

// drainSignals accepts the signals still buffered (see pumpSignals).
func (s *consultation) drainSignals(ctx workflow.Context) {
	receiveAsync(s.msgCh, func(m InboundMessage) { s.acceptCustomer(ctx, m) })
	receiveAsync(s.closeCh, s.acceptClose)
	if s.routeNowCh != nil {
		receiveAsync(s.routeNowCh, s.acceptRouteNow)
	}
}
