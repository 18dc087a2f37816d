// Package timsim is a local emulator of Tencent Cloud IM (TIM / "Chat") for development and tests.
//
// It serves, on one http.Handler:
//
//   - the REST API at the same paths as Tencent (/v4/openim/sendmsg, /v4/im_open_login_svc/account_import,
//     ...), with the same query parameters, JSON envelopes and error codes. The admin UserSig in the
//     query is verified with tim.Signer.Verify, and every API-level error is answered with HTTP 200.
//   - Tencent-style callbacks (webhooks) to Options.CallbackURL: C2C.CallbackBeforeSendMsg (answers
//     honoured: allow, modify, reject, drop, custom codes; 2 s timeout with a fail-open or fail-closed
//     policy), C2C.CallbackAfterSendMsg, State.StateChange and Group.CallbackAfterSendMsg, signed with
//     tim.CallbackSign when a token is configured.
//   - a simulated-client API under /sim/ (login, logout, disconnect, send, long-poll and SSE inboxes,
//     fault injection) used by end-to-end tests and by the web page at /, where a person can act as
//     several users side by side.
//
// The emulator keeps everything in memory. Time comes from Options.Now, so tests can move the clock
// (sendmsg dedupe window, UserSig expiry, rate-limit windows).
package timsim
