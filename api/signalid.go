package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"

	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/grpc"
)

// Replayed callbacks add nothing to any workflow's history. Where the dedupe lives, and why:
//
//   - Not on Sign + RequestTime. Sign is SHA-256(token + RequestTime) (TENCENT_IM.md §4.2): it does
//     not cover the body, and every callback Tencent sends within the same second carries the
//     same Sign and RequestTime. Deduping on them would drop real messages, presence changes and
//     agent replies that happen to share a second. What identifies a request is its content.
//   - A customer message is keyed by its MsgKey (the same in the before-send and after-send
//     callbacks and in every replay). Every API replica sends SignalWithStart with the same
//     request ID, derived from the workflow ID and MsgKey (withSignalRequestID); Temporal's
//     history service records the request IDs of a run's signals and acknowledges a repeated
//     one without a second signal in the history. It holds across API replicas because it lives
//     in Temporal, not in a replica. Its memory is the run's own: request IDs go with the run.
//   - Behind it, the consultation keeps the last 500 MsgKeys it saw (Seen) and carries them
//     across continue-as-new, where Temporal's request IDs are forgotten: a replay reaching the
//     new run is a signal, but it is dropped there and answered nothing.
//   - An agent's message to a customer is an update whose UpdateID is its MsgKey: Temporal
//     returns the first update's outcome to a repeat of that ID, without a new history event;
//     after-send copies of agent messages are not sent to Temporal at all.
//   - A State.StateChange is keyed by user, action and EventTime, or the signed RequestTime when
//     Tencent sent no EventTime (presenceTime in callback.go).
//   - Each replica also remembers, for 10 minutes and at most 10,000 entries (server.signalled,
//     an LRU), the MsgKeys a before-send callback signalled, so the after-send copy and any
//     replay reaching the same replica skip Temporal entirely. It saves calls and narrows the
//     window below; the dedupe does not rest on it.
//
// A closed consultation's run completes only replayWindow (2 × tim.CallbackWindow) after the last
// message it took (workflows: outlastReplays), so a replay accepted by the signature check always
// finds the run that took its message and is dropped by request ID; it never starts a new run.
// Continue-as-new for a long history waits the same quiet replayWindow (the consultation's
// shouldContinueAsNew, the desk's awaitContinue) unless the run reaches a forced size. A replay
// reaching the next consultation started by a message during the close adds one signal to it,
// which Seen drops.

type signalRequestIDKey struct{}

// withSignalRequestID makes the SignalWithStart sent with ctx carry a request ID derived from the
// workflow and the message, the same on every replica.
func withSignalRequestID(ctx context.Context, workflowID, msgKey string) context.Context {
	if msgKey == "" {
		return ctx
	}
	sum := sha256.Sum256([]byte(workflowID + "\x00" + msgKey))
	return context.WithValue(ctx, signalRequestIDKey{}, "timdesk-msg-"+hex.EncodeToString(sum[:16]))
}

// signalRequestIDInterceptor sets the request ID chosen by withSignalRequestID on the
// SignalWithStartWorkflowExecution call (the SDK otherwise sends a random one); every other call
// passes unchanged.
func signalRequestIDInterceptor(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn,
	invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	if r, ok := req.(*workflowservice.SignalWithStartWorkflowExecutionRequest); ok {
		if id, ok := ctx.Value(signalRequestIDKey{}).(string); ok {
			r.RequestId = id
		}
	}
	return invoker(ctx, method, req, reply, cc, opts...)
}
