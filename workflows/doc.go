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
//	closed           (kept) closed  rating 1-5 within RatingWindow, then → completes
//	                                replayWindow (2 min) after the last
//	                                message taken (replays stay dropped)
//	closed           (kept) closed  any other message                    → next consultation
//	                                                                       (continue-as-new, ai)
//
// # Failures
//
//	what                  retries                                  then
//	Send (Tencent IM,     30 min; MsgSeq/MsgRandom dedupe 120 s;   logged, Delivered=false; the
//	local activity)       a run > 100 s after its event            consultation goes on
//	                      (SendInput.Since) checks roaming first
//	message over 12 KB    —                                        translation alone, else the
//	                                                               original, else cut ("…")
//	Reply (LLM or FAQ,    3 × 30 s within 90 s; 4xx not retried    hand-off "ai_unavailable"
//	local activity)
//	Translate (LLM)       3 × 20 s within 60 s                     original, "[untranslated] "
//	DetectLanguage (local 3 × 15 s within 60 s                     language unknown (skipped
//	activity)                                                      while the AI answers)
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
// Until the first release tag (CHANGELOG.md) change workflow code freely and re-record testdata/
// (TIMDESK_UPDATE_HISTORY=1 go test -run TestGenerateHistories ./workflows). From then on every
// command-order change goes behind workflow.GetVersion, all change IDs live in versions.go, and
// TestReplay proves each history in testdata/ records the change IDs of the branch it is kept for.
package workflows
