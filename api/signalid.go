package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"

	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/grpc"
)

// One signal per customer message across API replicas. Tencent sends a message's before-send and
// after-send callbacks independently, so behind a load balancer they reach different replicas, and
// the replica-local memory of signalled MsgKeys (server.signalled) cannot see the other's. Both
// replicas therefore send SignalWithStart with the same request ID, derived from the workflow ID and
// MsgKey: Temporal's history service records the request IDs of a run's signals and acknowledges a
// repeated one without adding a second signal to the history.

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
