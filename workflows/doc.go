// Package workflows holds timdesk's deterministic Temporal code: one ConsultationWorkflow per
// customer consultation and the DeskWorkflow entity that keeps presence, language preferences and
// the roster override. Side effects live in package activities; this package only decides.
//
// # Consultation (workflow ID "consultation/<customer>", task queue TIMDESK_TASK_QUEUE)
//
// Inputs: the API SignalWithStarts the workflow with signal "message" (InboundMessage, customer →
// service account) and sends agent messages as update "agent_message" (UpdateID = MsgKey). Signal
// "close" (CloseRequest) closes; signal "route_now" (desk.RouteNow, from the desk) makes a
// consultation waiting for an agent route at once; query "state" returns ConsultationState. The state lives in one
// struct (ConsultationState) that the "state" query returns and continue-as-new carries.
//
// Per customer message: drop it if its MsgKey is in the dedupe window (500 keys, carried across
// continue-as-new); detect the language (DetectLanguage activity: script heuristics, LLM for the
// rest); translate it to the desk language for the transcript (Translate; with no LLM the state
// says translation "off" and nothing pretends to be translated); then by owner:
//
//   - ai: an explicit request for a human (Policy.HumanKeywords: 人工, 转人工, human, agent, 真人)
//     hands off at once. An attachment the AI cannot read (image, file, voice, video; with or
//     without text) hands off with trigger "attachment" and a summary naming it; a face,
//     location or custom element alone only gets the "text only" notice. Otherwise the Answer
//     activity decides answer | clarify | handoff. Answers below Policy.MinConfidence, a second
//     clarifying question in a row, or an Answer failure after its bounded retries (trigger
//     "ai_unavailable") hand off.
//   - queue: the message (attachments included) waits in the transcript and is relayed when an
//     agent is assigned.
//   - agent: the message is relayed to the agent, translated to the agent's language, as
//     From=customer, To=agent, SyncOtherMachine=2, both callbacks forbidden; if the agent had
//     already replied, the reply deadline starts.
//
// Hand-off: the Route activity picks the agent (roster, presence, capacity, one who reads the
// customer's language, least loaded, never one in TimedOut) and returns a decision with its
// reason, kept as LastRouting:
//
//   - assigned / supervisor: the agent gets a [timdesk] header with the summary and the last 20
//     customer messages (relays as above, attachments as real messages); the customer is told
//     once that a person is coming;
//     the accept deadline (roster accept_timeout) starts.
//   - off_hours: the customer is told, in their language, when the next shift starts (once per
//     next-shift time, and not when the consultation closes for inactivity before it); the
//     workflow waits durably until then (deadline "shift"), then routes again.
//   - unavailable: everyone on duty is offline, full or timed out; route again after
//     Policy.RetryRouteAfter, doubling up to 30 minutes (deadline "retry_route"); the customer is
//     told once. An agent coming online wakes it at once (below).
//
// Escalation ladder: no agent reply before the accept deadline → the agent joins TimedOut (not
// picked again in this round), is told, and Route picks the next agent, then a supervisor.
// When Route finds nobody only because everyone usable timed out (RouteResult.TimedOutAvailable:
// on duty, not offline, under capacity, but in TimedOut), the ladder is exhausted: TimedOut is
// cleared, Round goes up (LastRouting says "ladder exhausted, starting round 2") and the new
// round starts at the next retry; the back-off keeps growing with the rounds (round n waits at
// least RetryRouteAfter·2^(n-2)), so agents who never answer are not asked every few minutes.
// The customer hears nothing new (the busy and connecting notices are once per consultation).
// Agents who are offline or full are skipped as before and never start a round.
//
// Waking: when an agent comes online (desk signal "presence", offline or unknown → online), the
// desk runs the WakeQueued activity: it lists the running consultations with
// TimdeskStatus="queued" through visibility (pages of 100, all pages) and signals each with
// "route_now" (current run). A consultation waiting with a retry pending routes at once (trigger
// "agent_online"); if that finds the ladder exhausted, the new round starts at once too; if nobody
// is free after all, the retry already planned and its back-off stay. Any other consultation
// ignores the signal, and a burst of them routes once, so the wake-up is idempotent. Wake-ups run
// one at a time in a desk coroutine (agents who come online meanwhile get one more after it);
// a failure is logged and never fails the desk — the consultations route at their next retry.
// A customer waiting longer than reply_timeout on an agent who had replied → one nudge, and after
// another reply_timeout the same reassignment. An agent message stops the ladder.
//
// Agent messages (update "agent_message"): the handler answers at once — Owned when the sender is
// the assigned agent (the API then drops the original); the main loop translates the text to the
// customer's language and sends it From=service account, its non-text elements right after (see
// below); a translated reply carries its original in CloudCustomData.timdeskTranslation, and every
// notice its key in CloudCustomData.timdeskNotice (cloud.go), for the customer's chat page. A failed
// translation delivers the original prefixed "[untranslated] ". Slash
// commands: /close, /transfer <agentID> (Route with Target), /ai (back to the AI).
//
// Close: agent /close, signal "close", or the inactivity deadline of the current owner
// (Policy.AIIdleTimeout, QueueIdleTimeout, HumanIdleTimeout; a routing retry that finds nobody
// again does not move it). While no agent has accepted (queued, or assigned
// and not yet answered) the deadline never goes past QueueIdleBy: QueueIdleTimeout after the
// customer's last message, whatever ladder rounds, re-assignments (which set HumanIdleTimeout)
// or shift waits come between — except that when the consultation waits for a shift starting
// later than that, which the customer was told about, it gets QueueIdleTimeout from that shift's
// start, once per customer message (ShiftGrace), never from every later shift nobody logs in to.
// The off-hours notice is sent once per next-shift time (remembered in
// OffHoursNotice, one field, so the state stays bounded), and never for a shift the
// consultation will have closed before
// → goodbye in the customer's language, the rating prompt (once per
// consultation), a note to the agent, status "closed". The closed workflow then waits
// Policy.RatingWindow (5 min) for the rating: a reply of 1-5 (also "５", "4分", "★★★") is kept as
// Rating and thanked; any other message — or one that arrives while closing — continues-as-new
// into the customer's next consultation instead of being lost (its Step goes on from the closed
// one's, so send keys never repeat); otherwise the workflow completes. Agent messages the
// workflow had already accepted when the close came are delivered first.
//
// Non-text messages (images, files, voice, video, faces, locations, custom elements): the API
// signals them with Text empty and Body as sent (mixed messages: Text = the text elements). The
// workflow keeps a message's non-text elements (MsgType other than TIMTextElem, never decoded) in
// its TranscriptEntry.Body — at most 256 KB of bodies in the transcript, the oldest dropped first
// (BodyDropped) — and forwards them as they came, as a message of their own right after the
// text part (which is translated and sent as usual): an agent's to the customer From=service
// account (the API dropped the original: ErrorCode 2), a customer's to the agent as a relay
// (From=customer, SyncOtherMachine=2, callbacks forbidden), live or on assignment. A message
// without text is forwarded whole.
//
// All deadlines are absolute times in the state; the main loop waits with AwaitWithTimeout until
// the earliest one, so timers are re-created after continue-as-new or a worker restart.
//
// Search attributes TimdeskStatus (ai | queued | human | closed), TimdeskCustomer, TimdeskAgent and
// TimdeskLanguage are upserted whenever they change; every namespace must register them.
//
// Continue-as-new: when Temporal suggests it (or ConsultationInput.MaxMessagesPerRun is reached,
// a test hook) the loop drains the signal channels, waits for AllHandlersFinished and continues
// with CarryOver: the whole state (dedupe window, transcript capped at 200 entries and 1 MiB of
// text — the oldest texts cut to a 256-byte prefix, TextTrimmed — deadlines)
// and the messages accepted but not yet processed. Signals are taken by coroutines that wait on
// the channel's length and ReceiveAsync (pumpSignals), never blocked in Receive: a blocked Receive
// takes a signal as it is delivered but handles it only on its next turn, which a continue-as-new
// decided by the main coroutine in the same workflow task would drop. The desk does the same.
//
// # Failure handling
//
//   - Sends: activity Send with MsgSeq/MsgRandom derived from workflow ID + first run ID + step, so
//     a retry inside Tencent's 120 s window is deduplicated, and a later retry (first attempt
//     scheduled over 100 s before) first looks in the recipient's roaming history for that
//     MsgSeq/MsgRandom and returns the delivered message instead of sending it again; retried
//     up to 30 minutes; a final
//     failure is logged and marked in the transcript (Delivered false), never fails the workflow.
//     Accounts that are not imported are imported by the activity and the send repeated.
//   - Size: Tencent refuses a message over 12 KB for good, so every text sent stays within
//     maxSendTextBytes (JSON-encoded): a relay whose translation + original would not fit sends
//     the translation alone, a translation too long sends the original, and a text that still
//     does not fit is cut ("…").
//   - LLM: Answer 3 attempts of 30 s within 90 s (then hand-off "ai_unavailable"); Translate 3
//     attempts of 20 s within 60 s (then the original with a marker); 4xx errors are not retried.
//   - Route: retried for 2 minutes; a failure counts as "unavailable" and routing is retried.
//   - Duplicates: Tencent may deliver a callback twice; MsgKey dedupe in the workflow and
//     UpdateID = MsgKey on updates keep each message handled once.
//
// # Versioning
//
// Until the first release tag (CHANGELOG.md), change workflow code freely and re-record the histories (TIMDESK_UPDATE_HISTORY=1 go test -run TestGenerateHistories ./workflows).
// From then on, every change of command order goes behind workflow.GetVersion, and all change IDs live in versions.go.
// TestReplay replays testdata/ and proves each history records the change IDs of the branch it is kept for.
//
// # Desk (workflow ID "timdesk/desk")
//
// Signal "presence" (PresenceEvent from State.StateChange, roster agents only; older events are
// ignored; an agent coming online wakes the queued consultations, see Waking), signal
// "language" (LanguagePreference), update "roster" (RosterUpdate; the validator rejects rosters
// desk.ParseRoster rejects; accepted rosters are imported into Tencent IM), query "desk" (desk.State).
// It continues-as-new when suggested (or after DeskInput.MaxEventsPerRun events) carrying the state.
package workflows
