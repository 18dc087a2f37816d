package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/timdesk/timdesk/desk"
	"github.com/timdesk/timdesk/tim"
	"github.com/timdesk/timdesk/workflows"
)

// Callback decisions, reported in logs and the timdesk_callbacks_total metric.
const (
	decisionSignalled    = "signalled"     // customer → service account, Temporal accepted
	decisionSignalFailed = "signal_failed" // customer → service account, Temporal did not accept
	decisionAgentOwned   = "agent_owned"   // agent → customer, the consultation relays it (dropped)
	decisionAgentRefused = "agent_refused" // agent → customer, not the owner / no open consultation (refused with a notice)
	decisionAgentFailed  = "agent_failed"  // agent → customer, no answer within the budget (rejected)
	decisionTranslated   = "translated"    // customer ↔ customer, MsgBody replaced
	decisionUntranslated = "untranslated"  // customer ↔ customer, delivered unchanged
	decisionPresence     = "presence"      // State.StateChange recorded
	decisionPresenceFail = "presence_failed"
	decisionIgnored      = "ignored"           // nothing to do
	decisionGroup        = "group_ignored"     // a group message: timdesk does not handle group chats
	decisionAlready      = "already_signalled" // a message this replica signalled: its after-send copy, or a replay
	decisionShed         = "shed"              // Temporal saturated: refused without calling it (admission.go)
	decisionDeskUnknown  = "desk_unknown"      // user → user while the desk never answered: the sender may be an agent (refused)
	// decisionRefused + an error code (refused_unauthorized, refused_invalid, refused_internal...):
	// the callback was refused before it was handled (errorHandler), answered 200 + ErrorCode 1.
	decisionRefused = "refused_"
)

// The after-send callback is the backup path for customer messages: this many MsgKeys that a
// before-send callback signalled are remembered for this long, and their after-send copy (and any
// replay reaching this replica) skips Temporal (one call per message instead of two). When the
// after-send reaches another API replica, that replica signals with the same request ID
// (signalid.go) and Temporal keeps one signal.
const (
	signalledCacheSize = 10000
	signalledCacheTTL  = 10 * time.Minute
)

// callbackPath is the Tencent IM callback URL's path (the contract: POST /tim/callback).
const callbackPath = "/tim/callback"

// registerCallbackRoutes mounts the Tencent IM callback endpoint.
func (s *server) registerCallbackRoutes(app *fiber.App) {
	app.Post(callbackPath, s.handleCallback)
}

// handleCallback serves POST /tim/callback: verifies SdkAppid, Sign and RequestTime before reading
// the body, then dispatches on CallbackCommand and always answers within Tencent's 2 s.
func (s *server) handleCallback(c *fiber.Ctx) error {
	start := s.now()
	if len(c.Body()) > maxCallbackBytes {
		return newError(codeTooLarge, fmt.Sprintf("callback body larger than %d bytes", maxCallbackBytes))
	}
	query, err := url.ParseQuery(string(c.Request().URI().QueryString()))
	if err != nil {
		return wrapError(codeInvalid, "malformed callback query", err)
	}
	cq, err := tim.VerifyCallback(query, s.now(), tim.CallbackAuth{SDKAppID: s.cfg.SDKAppID, Token: s.cfg.CallbackToken})
	if err != nil {
		return fmt.Errorf("verify callback: %w", err)
	}

	ctx, cancel := context.WithTimeout(c.UserContext(), callbackDeadline)
	defer cancel()
	resp, decision, err := s.dispatchCallback(ctx, cq, c.Body())
	if err != nil {
		return err
	}
	command := commandLabel(cq.Command)
	s.metrics.observeCallback(command, decision, resp.ErrorCode, s.now().Sub(start))
	s.log.Info("callback", "requestID", requestID(c), "command", command, "decision", decision,
		"errorCode", resp.ErrorCode)
	return c.JSON(resp)
}

// commandLabel keeps metric cardinality bounded.
func commandLabel(cmd string) string {
	switch cmd {
	case tim.CmdC2CBeforeSendMsg, tim.CmdC2CAfterSendMsg, tim.CmdStateChange, tim.CmdGroupAfterSendMsg, tim.CmdGroupBeforeSendMsg:
		return cmd
	}
	return "other"
}

// dispatchCallback answers one verified callback. A non-nil error is a client error (bad body).
func (s *server) dispatchCallback(ctx context.Context, cq tim.CallbackQuery, body []byte) (tim.CallbackResponse, string, error) {
	switch cmd := cq.Command; cmd {
	case tim.CmdC2CBeforeSendMsg, tim.CmdC2CAfterSendMsg:
		m, err := tim.DecodeC2CMsg(body)
		if err == nil {
			err = m.CheckNotAhead(s.now())
		}
		if err != nil {
			return tim.CallbackResponse{}, "", callbackBodyError(err)
		}
		resp, decision := s.c2c(ctx, cmd, m)
		return resp, decision, nil
	case tim.CmdStateChange:
		sc, err := tim.DecodeStateChange(body)
		if err == nil {
			err = sc.CheckNotAhead(s.now())
		}
		if err != nil {
			return tim.CallbackResponse{}, "", callbackBodyError(err)
		}
		resp, decision := s.stateChange(ctx, sc, cq.RequestTime)
		return resp, decision, nil
	case tim.CmdGroupAfterSendMsg, tim.CmdGroupBeforeSendMsg:
		// Checked like every callback (a bad account field is refused, naming it), then delivered
		// unchanged: group chats are neither translated nor answered (a group has no one
		// recipient language to translate into). The operator is told once that the console
		// sends callbacks nobody uses.
		if _, err := tim.DecodeGroupMsg(body); err != nil {
			return tim.CallbackResponse{}, "", callbackBodyError(err)
		}
		s.groupOnce.Do(func() {
			s.log.Warn("group message callbacks are not used: timdesk neither translates nor answers group chats; switch them off in the Tencent IM console (Callback configuration)", "command", cmd)
		})
		return tim.Allow(), decisionGroup, nil
	default:
		// Unknown and future commands: acknowledge, change nothing.
		return tim.Allow(), decisionIgnored, nil
	}
}

// callbackBodyError is the client error for a callback body that did not decode: a broken field
// is named with its rule and the kind of value it got (never the value), a body that is empty,
// not JSON or not an object is said to be; anything else is "malformed callback body".
func callbackBodyError(err error) error {
	var fe *tim.FieldError
	switch {
	case errors.As(err, &fe) && fe.Field == "body":
		return wrapError(codeInvalid, "invalid callback body: "+fe.Problem, err)
	case errors.As(err, &fe):
		return wrapError(codeInvalid, "invalid callback field "+fe.Field+": "+fe.Problem, err)
	}
	return wrapError(codeInvalid, "malformed callback body", err)
}

// c2c routes a one-to-one message callback by who talks to whom.
func (s *server) c2c(ctx context.Context, cmd string, m tim.C2CMsgCallback) (tim.CallbackResponse, string) {
	from, to := m.FromAccount, m.ToAccount
	if from == "" || to == "" || from == to {
		return tim.Allow(), decisionIgnored
	}
	staff := func(id string) bool { return id == s.cfg.ServiceAccount || id == s.cfg.Admin }
	if staff(from) {
		return tim.Allow(), decisionIgnored // our own sends (replies, relays) and admin traffic
	}
	snap := s.desk.cached(ctx)
	fromAgent, toAgent := snap.IsAgent(from), snap.IsAgent(to)
	before := cmd == tim.CmdC2CBeforeSendMsg
	switch {
	case to == s.cfg.ServiceAccount && !fromAgent:
		return s.customerMessage(ctx, cmd, m, snap)
	case fromAgent && !toAgent && !staff(to):
		if !before {
			return tim.Allow(), decisionIgnored // the before-send answer already decided
		}
		return s.agentMessage(ctx, m)
	case !fromAgent && !toAgent && !staff(to):
		if before && !snap.Answered {
			return s.refuseBlind()
		}
		source := ""
		if text := m.MsgBody.Text(); text != "" {
			source = desk.DetectLanguage(text)
			s.recordLanguage(ctx, from, source, snap)
		}
		if !before {
			return tim.Allow(), decisionIgnored
		}
		if source == "" {
			source = s.langs.of(from, snap) // a short or ambiguous message: what the sender usually writes
		}
		return s.trans.beforeSend(ctx, m, source, s.langs.of(to, snap))
	}
	return tim.Allow(), decisionIgnored
}

// blindInfo is the sender's ErrorInfo for a message refused by refuseBlind.
const blindInfo = "timdesk: the service desk is starting and cannot tell yet whether you are an agent; your message was not delivered, send it again in a moment"

// refuseBlind refuses (ErrorCode 1) a before-send message between two users the roster file does
// not know while the desk workflow has not answered once since the API started (a cold start
// with the worker down): the sender may be an agent added through PUT /api/v1/roster writing to
// a customer, whose message must go through the consultation, never raw. Customer↔customer
// chat resumes with the desk's first answer (a query at most every deskCacheTTL). The callback
// log line and metric carry the decision; the desk view warns (once a minute) why.
func (s *server) refuseBlind() (tim.CallbackResponse, string) {
	resp := tim.Reject()
	resp.ErrorInfo = blindInfo
	return resp, decisionDeskUnknown
}

// inbound converts a callback into the workflow payload.
func (s *server) inbound(m tim.C2CMsgCallback) workflows.InboundMessage {
	key := m.MsgKey
	if key == "" {
		key = fmt.Sprintf("%d_%d_%d", m.MsgSeq, m.MsgRandom, m.MsgTime)
	}
	// SentAt is the earliest an attempt of a send this message causes may have run (the
	// workflow's SendInput.Since): MsgTime, but never earlier than MaxEventTimeSkew before this
	// callback. A MsgTime of 1970 made every such send look up the chat history since 1970.
	// (One ahead of now is refused at decoding beyond the skew; the workflow takes now for it.)
	now := s.now().UTC()
	sent := now
	if m.MsgTime > 0 {
		sent = time.Unix(m.MsgTime, 0).UTC()
	}
	if earliest := now.Add(-tim.MaxEventTimeSkew); sent.Before(earliest) {
		sent = earliest
	}
	return workflows.InboundMessage{
		MsgKey: key,
		From:   m.FromAccount,
		To:     m.ToAccount,
		Body:   m.MsgBody,
		Text:   m.MsgBody.Text(),
		SentAt: sent,
	}
}

// consultationContent reports whether a message belongs in a consultation: it has non-blank text, or
// a stored non-text element (image, file, sound, video, location, face, custom). Online-only
// messages without text (typing indicators and similar signals, OnlineOnlyFlag 1) do not.
func consultationContent(m tim.C2CMsgCallback) bool {
	if strings.TrimSpace(m.MsgBody.Text()) != "" {
		return true
	}
	if m.OnlineOnlyFlag == 1 {
		return false
	}
	for _, el := range m.MsgBody {
		if el.MsgType != "" && el.MsgType != tim.MsgTypeText {
			return true
		}
	}
	return false
}

// customerMessage signals (and if needed starts) the customer's consultation with a text or
// non-text message (a photo reaches the agent as it is). ErrorCode 0 only once Temporal accepted
// the signal; 1 when it did not, so the customer sees a failed send.
func (s *server) customerMessage(ctx context.Context, cmd string, m tim.C2CMsgCallback, snap *deskSnapshot) (tim.CallbackResponse, string) {
	if cmd == tim.CmdC2CAfterSendMsg && m.SendMsgResult != 0 {
		return tim.Allow(), decisionIgnored // delivery failed: the before-send answer stands
	}
	if !consultationContent(m) {
		return tim.Allow(), decisionIgnored // blank, or a transient online-only signal (typing)
	}
	in := s.inbound(m)
	if in.MsgKey != "" { // the after-send copy or a replay of a message this replica signalled
		if _, ok := s.signalled.Get(in.MsgKey); ok {
			return tim.Allow(), decisionAlready
		}
	}
	if in.Text != "" {
		s.recordLanguage(ctx, m.FromAccount, desk.DetectLanguage(in.Text), snap)
	}
	customer := m.FromAccount
	id := workflows.ConsultationID(customer)
	opts := client.StartWorkflowOptions{
		ID:                    id,
		TaskQueue:             s.cfg.TaskQueue,
		WorkflowIDReusePolicy: enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.StatusKey.ValueSet("ai"),
			workflows.CustomerKey.ValueSet(customer),
		),
	}
	ctx, cancel := context.WithTimeout(withSignalRequestID(ctx, id, in.MsgKey), s.cfg.CallbackBudget)
	defer cancel()
	done, ok := s.admission.admit(ctx, workMessage)
	if !ok {
		s.log.Warn("customer message shed: Temporal saturated", "workflowID", id, "msgKey", in.MsgKey)
		return tim.Reject(), decisionShed
	}
	_, err := s.d.Temporal.SignalWithStartWorkflow(ctx, id, workflows.SignalMessage, in, opts,
		workflows.ConsultationWorkflow, workflows.ConsultationInput{Customer: customer, ServiceAccount: s.cfg.ServiceAccount})
	done(err)
	if err != nil {
		s.log.Warn("signal consultation failed", "workflowID", id, "msgKey", in.MsgKey, "error", err)
		return tim.Reject(), decisionSignalFailed
	}
	if cmd == tim.CmdC2CBeforeSendMsg && in.MsgKey != "" {
		s.signalled.Put(in.MsgKey, struct{}{})
	}
	return tim.Allow(), decisionSignalled
}

// agentMessage asks the customer's consultation, through an update keyed by MsgKey, whether the
// agent owns it: owned → ErrorCode 2 (the workflow sends the translated copy, or a non-text
// message as it is); not owned, a late reply of an agent who timed out, or no open consultation →
// refused with a code and a sentence for the agent (refuseAgent); no answer within the budget → 1.
func (s *server) agentMessage(ctx context.Context, m tim.C2CMsgCallback) (tim.CallbackResponse, string) {
	if !consultationContent(m) {
		return tim.Allow(), decisionIgnored
	}
	in := s.inbound(m)
	id := workflows.ConsultationID(m.ToAccount)
	ctx, cancel := context.WithTimeout(ctx, s.cfg.CallbackBudget)
	defer cancel()
	done, ok := s.admission.admit(ctx, workMessage)
	if !ok {
		s.log.Warn("agent message shed: Temporal saturated", "workflowID", id, "msgKey", in.MsgKey)
		return tim.Reject(), decisionShed
	}
	res, err := s.updateAgentMessage(ctx, id, in)
	done(err)
	var notFound *serviceerror.NotFound
	var appErr *temporal.ApplicationError
	switch {
	case err == nil && res.Owned:
		return tim.Drop(), decisionAgentOwned
	case err == nil:
		return s.refuseAgent(m, res)
	case errors.As(err, &notFound):
		return s.refuseAgent(m, workflows.AgentMessageResult{Reason: "closed"}) // no open consultation
	case errors.As(err, &appErr) && appErr.Type() == workflows.ErrTypeAgentMessageExpired:
		// The workflow saw the update after this callback's deadline: report the send as failed
		// (the agent resends) rather than let the untranslated original through.
		s.log.Warn("agent message reached the consultation after the callback budget", "workflowID", id, "msgKey", in.MsgKey)
		return tim.Reject(), decisionAgentFailed
	case errors.As(err, &appErr) && ctx.Err() == nil:
		// The workflow rejected the update (e.g. its validator): it is not the agent's consultation.
		s.log.Info("agent message not accepted by consultation", "workflowID", id, "reason", appErr.Message())
		return s.refuseAgent(m, workflows.AgentMessageResult{Reason: "rejected"})
	default:
		s.log.Warn("agent message update failed", "workflowID", id, "msgKey", in.MsgKey, "error", err)
		return tim.Reject(), decisionAgentFailed
	}
}

// Refusal codes of an agent's message to a customer that the agent does not own (Tencent passes
// them and the ErrorInfo text to the agent's app as the send error).
const (
	refuseNotOwner  = 120001 // another agent owns the consultation
	refuseTimedOut  = 120002 // the sender was replaced for not answering in time (a late reply)
	refuseNoAgent   = 120003 // the AI or the queue has the consultation
	refuseNoConsult = 120004 // the customer has no open consultation
)

// refuseAgent refuses an agent's message the consultation did not take: it never reaches the
// customer untranslated and unrecorded. The agent's app shows the code and a sentence saying why
// and who has the customer.
func (s *server) refuseAgent(m tim.C2CMsgCallback, res workflows.AgentMessageResult) (tim.CallbackResponse, string) {
	customer, owner := m.ToAccount, res.Owner
	if owner == "" {
		owner = "nobody (waiting in the queue)"
	}
	var code int
	var info string
	switch res.Reason {
	case "not_owner":
		code, info = refuseNotOwner, fmt.Sprintf("timdesk: %s's consultation is with %s; your message was not delivered", customer, owner)
	case "timed_out":
		code, info = refuseTimedOut, fmt.Sprintf("timdesk: you did not answer %s in time and the consultation moved to %s; your message was not delivered", customer, owner)
	case "no_agent":
		code, info = refuseNoAgent, fmt.Sprintf("timdesk: no agent has %s's consultation yet (the AI or the queue has it); your message was not delivered", customer)
	default: // closed, no consultation, rejected
		code, info = refuseNoConsult, fmt.Sprintf("timdesk: %s has no open consultation with you; your message was not delivered", customer)
	}
	resp, err := tim.RejectWithCode(code, info)
	if err != nil { // the codes above are in range; keep the customer safe regardless
		return tim.Reject(), decisionAgentRefused
	}
	s.log.Info("agent message refused", "agent", m.FromAccount, "customer", customer, "reason", res.Reason, "owner", res.Owner, "errorCode", code)
	return resp, decisionAgentRefused
}

// updateAgentMessage runs the agent_message update within ctx's deadline, a quarter of the
// callback budget before which it hands to the workflow as AnswerBy: an update that reaches the
// workflow after that (a worker coming back picks up admitted updates) is refused there, since
// the agent was told the send failed and resends it. The quarter leaves the accepted update's
// answer time to travel back before the callback gives up (and absorbs small clock skew).
func (s *server) updateAgentMessage(ctx context.Context, workflowID string, in workflows.InboundMessage) (workflows.AgentMessageResult, error) {
	var res workflows.AgentMessageResult
	if deadline, ok := ctx.Deadline(); ok {
		in.AnswerBy = deadline.Add(-s.cfg.CallbackBudget / 4).UTC()
	}
	h, err := s.d.Temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID:   workflowID,
		UpdateID:     in.MsgKey,
		UpdateName:   workflows.UpdateAgentMessage,
		Args:         []any{in},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return res, fmt.Errorf("update %s: %w", workflows.UpdateAgentMessage, err)
	}
	if err := h.Get(ctx, &res); err != nil {
		return res, fmt.Errorf("update %s result: %w", workflows.UpdateAgentMessage, err)
	}
	return res, nil
}

// stateChange records an agent's presence in the desk workflow (SignalWithStart); other users'
// logins are not recorded. requestTime is the callback's RequestTime (0 when absent).
func (s *server) stateChange(ctx context.Context, sc tim.StateChangeCallback, requestTime int64) (tim.CallbackResponse, string) {
	user := sc.Info.ToAccount
	var online bool
	switch sc.Info.Action {
	case "Login":
		online = true
	case "Logout", "Disconnect":
		online = false
	default:
		return tim.Allow(), decisionIgnored
	}
	if user == "" || !s.desk.cached(ctx).IsAgent(user) {
		return tim.Allow(), decisionIgnored
	}
	at, key := presenceTime(sc, requestTime, s.now())
	ctx, cancel := context.WithTimeout(ctx, s.cfg.CallbackBudget)
	defer cancel()
	if key != "" {
		// A replayed State.StateChange (same user, action and time) adds no second signal.
		ctx = withSignalRequestID(ctx, workflows.DeskWorkflowID, fmt.Sprintf("presence/%s/%s/%s", user, sc.Info.Action, key))
	}
	done, ok := s.admission.admit(ctx, workPresence)
	if !ok {
		s.log.Warn("presence shed: Temporal saturated", "user", user, "action", sc.Info.Action)
		return tim.Fail(), decisionShed
	}
	err := s.signalDesk(ctx, workflows.SignalPresence, desk.PresenceEvent{UserID: user, Online: online, At: at})
	done(err)
	if err != nil {
		s.log.Warn("record presence failed", "user", user, "error", err)
		return tim.Fail(), decisionPresenceFail
	}
	return tim.Allow(), decisionPresence
}

// presenceTime is when a State.StateChange happened and the part of its signal request ID that
// tells it from the user's other events with the same action: its EventTime (ms) when Tencent sent
// one; else the request's RequestTime (s), which every replay of the signed request repeats, so
// the replay has the same time and ID; else (an unsigned callback without either) the receiving
// clock and no ID, since nothing would tell a replay from a new event. Without EventTime, two
// events of one user with the same action within one second of RequestTime count as one.
func presenceTime(sc tim.StateChangeCallback, requestTime int64, now time.Time) (time.Time, string) {
	switch {
	case sc.EventTime > 0:
		return time.UnixMilli(sc.EventTime).UTC(), strconv.FormatInt(sc.EventTime, 10)
	case requestTime > 0:
		return time.Unix(requestTime, 0).UTC(), "r" + strconv.FormatInt(requestTime, 10)
	default:
		return now.UTC(), ""
	}
}

// deskStartOptions are the options used whenever the API has to start the desk workflow.
func (s *server) deskStartOptions() client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID:                    workflows.DeskWorkflowID,
		TaskQueue:             s.cfg.TaskQueue,
		WorkflowIDReusePolicy: enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
	}
}

// recordSignalTimeout bounds the background signal that records a detected language.
const recordSignalTimeout = 5 * time.Second

// recordLanguage sends the desk a user's detected language when it does not have it yet (or has
// it from long ago), in the background: the callback never waits for it, and a failure only
// means the next message records it.
func (s *server) recordLanguage(ctx context.Context, userID, lang string, snap *deskSnapshot) {
	if !s.langs.needsRecord(userID, lang, snap) {
		return
	}
	done, ok := s.admission.admit(ctx, workLanguage)
	if !ok {
		s.langs.pending.Delete(userID) // shed: the user's next message records it
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordSignalTimeout)
	go func() {
		defer cancel()
		err := s.signalDesk(ctx, workflows.SignalLanguage, desk.LanguagePreference{UserID: userID, Language: lang, Detected: true})
		done(err)
		if err != nil {
			s.log.Warn("record detected language failed", "user", userID, "error", err)
		}
	}()
}

// signalDesk signals the desk workflow, starting it when it is not running.
func (s *server) signalDesk(ctx context.Context, signal string, arg any) error {
	_, err := s.d.Temporal.SignalWithStartWorkflow(ctx, workflows.DeskWorkflowID, signal, arg, s.deskStartOptions(),
		workflows.DeskWorkflow, workflows.DeskInput{})
	if err != nil {
		return fmt.Errorf("signal desk %s: %w", signal, err)
	}
	return nil
}
