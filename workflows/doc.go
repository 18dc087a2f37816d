// Package workflows holds timdesk's deterministic Temporal code: one ConsultationWorkflow per
// customer ("consultation/<customer>") and the DeskWorkflow entity ("timdesk/desk": presence,
// language preferences, roster override; wakes queued consultations when an agent comes online,
// a consultation frees a slot — signal slot_freed — or a roster is saved).
// Side effects live in activities/, the domain in desk/; this package only decides. Read
// consultation.go (types, run, step) first, then one file per phase.
//
// # Phases (ConsultationState.Phase; Owner and Status follow from it in setPhase)
//
//	phase            owner  status  event                                → next phase
//	ai               ai     ai      answer / clarify                     → ai
//	ai               ai     ai      human keyword, attachment, weak or   → route (below)
//	                                failed answer, 2nd clarify
//	route: Route activity           assigned / supervisor                → awaiting_accept
//	                                off_hours (next shift known)         → waiting_shift
//	                                unavailable, or off_hours without    → waiting_agent
//	                                a shift (retry with back-off)
//	                                invalid /transfer target             → unchanged
//	waiting_shift    queue  queued  deadline "shift"                     → route
//	waiting_agent    queue  queued  deadline "retry_route", route_now    → route (exhausted
//	                                                                       ladder: new round)
//	awaiting_accept  agent  human   the agent's first message            → with_agent
//	awaiting_accept  agent  human   deadline "accept" (joins TimedOut)   → route
//	with_agent       agent  human   deadline "reply": nudge, then        → route
//	with_agent       agent  human   /transfer <agent>                    → route
//	awaiting_accept, with_agent     /ai                                  → ai
//	any              —      —       /close, signal "close", deadline     → closed
//	                                "idle" (per owner; never past
//	                                QueueIdleBy while nobody accepted)
//	closed           (kept) closed  rating 1-5 within RatingWindow       → completes
//	closed           (kept) closed  any other message                    → next consultation
//	                                                                       (continue-as-new, ai)
//
// Sends to the customer carry CloudCustomData for the chat page (cloud.go): a notice its key
// (timdeskNotice), a translated agent reply its original (timdeskTranslation).
// Every loop turn (step) takes, in order: a customer back before the inactivity close, owned agent
// messages (delivered before a close), customer messages, a route_now, the earliest deadline.
// Deadlines are absolute times in the state, so timers survive continue-as-new and restarts.
// The hot path — a customer message the AI answers — is one workflow task: the Reply and Send
// local activities (language, translation for the desk and the decision in one model call, or the
// FAQ offline) leave two markers, so a message adds about 7 history events (e2e
// TestFAQMessageHistoryEvents keeps it at most 8); the language of other messages comes from the
// DetectLanguage local activity (the desk's record of the customer, read through the worker's
// cache, then the script, then the LLM). The deadline timer is kept while the earliest deadline only moves
// later, and search attributes are upserted only when they change.
// Continue-as-new (suggested, or MaxMessagesPerRun) runs quiesce first — drain the signal
// channels, wait for running handlers, drain again — and carries the whole state (CarryOver).
//
// # Failures
//
//	what                  retries                                  then
//	Send (Tencent IM,     30 min; MsgSeq/MsgRandom from the send   logged, Delivered=false; the
//	local activity)       key dedupe within 120 s; a run later     consultation goes on
//	                      than 100 s after the event that caused
//	                      it (SendInput.Since) looks in the
//	                      roaming history first
//	message over 12 KB    —                                        translation alone, else the
//	                                                               original, else cut ("…")
//	Reply (LLM or FAQ,    3 × 30 s within 90 s; 4xx not retried    hand-off "ai_unavailable"
//	local activity)
//	Translate (LLM)       3 × 20 s within 60 s                     original, "[untranslated] "
//	DetectLanguage (local 3 × 15 s within 60 s                     language unknown
//	activity; not while
//	the AI answers)
//	Route                 2 min                                    counts as unavailable: retry
//	Policy (local, the    3 × 10 s within 60 s                     desk.DefaultPolicy
//	worker's desk cache)
//	WakeQueued (desk)     3 × 2 min within 5 min                   logged; queued consultations
//	                                                               route at their next retry
//	ImportRoster (desk)   5 min                                    logged; Send imports on demand
//	duplicate callbacks   MsgKey dedupe window (500, carried);     each message handled once
//	                      UpdateID = MsgKey
//	agent message late    update refused after AnswerBy            the callback reports failure
//
// # Versioning
//
// Until the first release tag (CHANGELOG.md), change workflow code freely and re-record the histories (TIMDESK_UPDATE_HISTORY=1 go test -run TestGenerateHistories ./workflows).
// From then on, every change of command order goes behind workflow.GetVersion, and all change IDs live in versions.go.
// TestReplay replays testdata/ and proves each history records the change IDs of the branch it is kept for.
package workflows
