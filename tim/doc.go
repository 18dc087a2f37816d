// Package tim is timdesk's Tencent Cloud IM ("TIM", "Chat") toolkit:
//
//   - UserSig v2 tokens (HMAC-SHA256, zlib, Tencent's base64 variant): [Signer] mints tokens
//     that Tencent's official tls-sig-api-v2 libraries accept and verifies theirs (any zlib
//     level, any JSON key order; cross-checked against the npm package in
//     node_crosscheck_test.go), and [AdminSig] caches the administrator's token and renews it
//     well before it expires.
//   - A REST client ([Client]) that calls the IM server API as the app administrator through
//     one request path (query sdkappid, identifier, usersig, random, contenttype=json; POST
//     JSON; envelope decoding). It has no retry layer: callers (Temporal activities) retry,
//     guided by the classification on [APIError] ([IsRetryable], [IsPermanent], [IsResign],
//     [IsNotImported], [IsRateLimited]). The only resend inside the client is the documented
//     re-sign: when Tencent rejects the admin UserSig (codes 70001…70020, 60004/60005, 20002)
//     the cached admin sig is dropped, a fresh one is minted, and the same request is sent
//     exactly once more (a sendmsg resend carries the same MsgSeq/MsgRandom, so Tencent
//     deduplicates it).
//   - Webhook ("third-party callback") verification ([VerifyCallback]), typed callback bodies
//     ([DecodeC2CMsg], [DecodeStateChange], [DecodeGroupMsg]) and callback responses ([Allow],
//     [Reject], [Drop], [RejectWithCode], …).
//
// The package has no Temporal or Fiber dependencies; the wire facts it implements are collected
// in shared/TENCENT_IM.md sections 1–4. Request and response types of every command are exported
// so that the local emulator (tim/timsim) can reuse them.
package tim
