package main

import (
	"context"
	"testing"

	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/grpc"
)

func TestSignalRequestIDInterceptor(t *testing.T) {
	same := withSignalRequestID(context.Background(), "consultation/alice", "1_2_3")
	tests := []struct {
		name   string
		ctx    context.Context
		req    any
		wantID string // "" = the request's own ID kept
	}{
		{"message context sets the ID", same, &workflowservice.SignalWithStartWorkflowExecutionRequest{RequestId: "random"}, "derived"},
		{"no message in context keeps the SDK's ID", context.Background(), &workflowservice.SignalWithStartWorkflowExecutionRequest{RequestId: "random"}, ""},
		{"no MsgKey keeps the SDK's ID", withSignalRequestID(context.Background(), "consultation/alice", ""), &workflowservice.SignalWithStartWorkflowExecutionRequest{RequestId: "random"}, ""},
		{"other calls pass unchanged", same, &workflowservice.SignalWorkflowExecutionRequest{RequestId: "random"}, ""},
	}
	var derived string
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			invoked := false
			invoker := func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, opts ...grpc.CallOption) error {
				invoked = true
				return nil
			}
			if err := signalRequestIDInterceptor(tt.ctx, "/m", tt.req, nil, nil, invoker); err != nil {
				t.Fatal(err)
			}
			if !invoked {
				t.Fatal("the call was not passed on")
			}
			var got string
			switch r := tt.req.(type) {
			case *workflowservice.SignalWithStartWorkflowExecutionRequest:
				got = r.RequestId
			case *workflowservice.SignalWorkflowExecutionRequest:
				got = r.RequestId
			}
			switch tt.wantID {
			case "":
				if got != "random" {
					t.Errorf("RequestId = %q, want the SDK's own", got)
				}
			default:
				if got == "random" || got == "" {
					t.Errorf("RequestId = %q, want one derived from the message", got)
				}
				derived = got
			}
		})
	}
	// Every replica derives the same ID for the same message, and another for another message.
	r := &workflowservice.SignalWithStartWorkflowExecutionRequest{}
	noop := func(context.Context, string, any, any, *grpc.ClientConn, ...grpc.CallOption) error { return nil }
	_ = signalRequestIDInterceptor(withSignalRequestID(context.Background(), "consultation/alice", "1_2_3"), "/m", r, nil, nil, noop)
	if r.RequestId != derived {
		t.Errorf("same message: %q, want %q", r.RequestId, derived)
	}
	_ = signalRequestIDInterceptor(withSignalRequestID(context.Background(), "consultation/alice", "1_2_4"), "/m", r, nil, nil, noop)
	if r.RequestId == derived {
		t.Errorf("another message got the same request ID %q", derived)
	}
}
