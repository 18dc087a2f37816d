// Package timsim is a local emulator of Tencent Cloud IM (TIM / "Chat") for development and tests.
//
// It serves, on one http.Handler:
//
//   - the REST API at the same paths as Tencent (/v4/openim/sendmsg, batchsendmsg,
//     query_online_status, admin_getroammsg, admin_msgwithdraw; /v4/im_open_login_svc/account_import,
//     multiaccount_import, account_check, account_delete; /v4/group_open_http_svc/create_group,
//     send_group_msg), with the same query parameters, JSON envelopes and error codes. The admin
//     UserSig in the query is verified with tim.Signer.Verify, and every API-level error is
//     answered with HTTP 200. sendmsg deduplicates sender+MsgSeq+MsgRandom+MsgBody for 120 s.
//
//   - Tencent-style callbacks to Options.CallbackURL: C2C.CallbackBeforeSendMsg (answers honoured:
//     0 allow, 0 with MsgBody/CloudCustomData, 1 reject → 20006, 2 silent drop, 120001–130000 passed
//     to the sender; a failed or late answer follows the fail-open or fail-closed (80003) policy),
//     C2C.CallbackAfterSendMsg, State.StateChange and Group.CallbackAfterSendMsg, with the query
//     SdkAppid, CallbackCommand, contenttype, ClientIP, OptPlatform and, when a token is
//     configured, RequestTime and Sign (tim.CallbackSign). batchsendmsg fires no callbacks.
//
//   - a simulated-client API for tests and people (below), and
//
//   - the chat page at /, where a person acts as several users side by side.
//
// # Simulated-client API
//
//	POST /sim/login {"userID","platform"?,"userSig"?}     log in: imports the account, State.StateChange Login
//	POST /sim/logout {"userID"}                            State.StateChange Logout/Unregister
//	POST /sim/disconnect {"userID"}                        State.StateChange Disconnect/LinkClose
//	POST /sim/import {"userID"}                            import without logging in
//	POST /sim/send {"from","to","text"|"msgBody","cloudCustomData"?}
//	     → {"errorCode","errorInfo","msgKey","msgTime","msgSeq","msgRandom"}; runs the callbacks like a client send
//	GET  /sim/messages?userID=u&since=<seq>&wait=<s>&direction=in|out → {"messages":[...],"next":<seq>}
//	GET  /sim/events?userID=u&since=<seq>[&presence=1]    server-sent events: message, recall, state
//	GET  /sim/stream?users=a,b[&presence=1]               the page's users, every account's presence ("accounts")
//	                                                      and the activity log on one stream
//	GET  /sim/activity                                    server-sent activity log (callbacks and their answers)
//	GET|POST|DELETE /sim/faults                           fault injection (see Fault and RateLimit)
//	POST /sim/policy {"failClosed":bool}                  before-send failure policy
//	GET  /sim/state                                       configuration, accounts and presence
//
// The emulator keeps everything in memory. Time comes from Options.Now, so tests can move the clock
// (sendmsg dedupe window, UserSig expiry, MsgTime, RequestTime, rate-limit windows).
package timsim
