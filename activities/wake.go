package activities

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/temporal"

	"github.com/timdesk/timdesk/desk"
)

// WakeClient is what WakeQueued needs from Temporal (client.Client satisfies it): list the
// consultations waiting for an agent through visibility and signal them.
type WakeClient interface {
	ListWorkflow(ctx context.Context, request *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error)
	SignalWorkflow(ctx context.Context, workflowID, runID, signalName string, arg any) error
}

// Bounds of one wake-up: visibility pages of wakePageSize, at most wakeMaxPages of them.
const (
	wakePageSize = 100
	wakeMaxPages = 100
)

// WakeInput asks WakeQueued to signal every running consultation with TimdeskStatus="queued".
type WakeInput struct {
	Agent  string `json:"agent"`            // the agent who came online or whose slot was freed ("" for a roster change)
	Reason string `json:"reason,omitempty"` // why (for the signal and the logs; default "<agent> online")
	Signal string `json:"signal"`           // the consultation's route-now signal name
	// Recheck, when set, lists the queue once more this long after the first pass and signals the
	// consultations it did not show: visibility trails a consultation's status (on PostgreSQL under
	// load by seconds), and a consultation routing on a desk view read just before the login
	// (DefaultDeskCacheTTL) queues just after it. Neither then waits for its routing retry.
	Recheck time.Duration `json:"recheck,omitempty"`
}

// WakeResult counts what one wake-up did.
type WakeResult struct {
	Listed    int `json:"listed"`    // queued consultations found (both passes)
	Rechecked int `json:"rechecked"` // of them, found only by the re-check
	Signaled  int `json:"signaled"`  // signalled
	Gone      int `json:"gone"`      // closed between the listing and the signal
	Failed    int `json:"failed"`    // signal errors (logged; the consultation's own retry still runs)
	Pages     int `json:"pages"`
}

// WakeQueued signals every running consultation waiting for an agent (TimdeskStatus="queued",
// all visibility pages of wakePageSize) with in.Signal, so they route at once instead of at their
// next retry — the one waiting longest first (by workflow start time), so it is first to take a
// freed slot. With in.Recheck it lists again that long after and signals the ones the first pass
// did not show (each consultation is signalled once per wake-up). It is idempotent: a
// consultation that is not waiting ignores the signal, one that closed meanwhile is counted as
// gone. A listing failure is returned (retried); signal failures are counted and logged. With no
// Waker configured there is nothing to wake.
func (r *Router) WakeQueued(ctx context.Context, in WakeInput) (WakeResult, error) {
	var res WakeResult
	if in.Signal == "" {
		return res, temporal.NewNonRetryableApplicationError("wake queued: signal name is required", ErrTypeBadInput, nil)
	}
	if r.Waker == nil {
		logger(ctx).Warn("wake queued: no Temporal client configured; nothing woken", "agent", in.Agent)
		return res, nil
	}
	reason := in.Reason
	if reason == "" {
		reason = in.Agent + " online"
	}
	arg := desk.RouteNow{Reason: reason, Agent: in.Agent}
	seen := map[string]bool{}
	queued, err := r.listQueued(ctx, seen, &res)
	if err != nil {
		return res, err
	}
	r.signalQueued(ctx, queued, in.Signal, arg, &res)
	if in.Recheck > 0 {
		select {
		case <-ctx.Done():
			return res, fmt.Errorf("wake queued: before the re-check: %w", ctx.Err())
		case <-time.After(in.Recheck):
		}
		more, err := r.listQueued(ctx, seen, &res)
		if err != nil {
			// The first pass was signalled: a retry would signal it all again. The queue's own
			// routing retries cover what the re-check would have found.
			logger(ctx).Warn("wake queued: re-check failed", "reason", reason, "error", err)
		}
		res.Rechecked = len(more)
		r.signalQueued(ctx, more, in.Signal, arg, &res)
	}
	logger(ctx).Info("woke queued consultations", "reason", reason, "listed", res.Listed, "rechecked", res.Rechecked,
		"signaled", res.Signaled, "gone", res.Gone, "failed", res.Failed, "pages", res.Pages)
	return res, nil
}

// listQueued lists the queued consultations not in seen (and adds them to it), oldest first, in at
// most wakeMaxPages pages.
func (r *Router) listQueued(ctx context.Context, seen map[string]bool, res *WakeResult) ([]*workflowpb.WorkflowExecutionInfo, error) {
	var queued []*workflowpb.WorkflowExecutionInfo
	var token []byte
	for pages := 0; pages < wakeMaxPages; {
		resp, err := r.Waker.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			PageSize: wakePageSize, NextPageToken: token, Query: desk.QueuedQuery(),
		})
		if err != nil {
			return queued, fmt.Errorf("wake queued: list page %d: %w", pages+1, err)
		}
		pages++
		res.Pages++
		for _, ex := range resp.GetExecutions() {
			id := ex.GetExecution().GetWorkflowId()
			if id == "" || seen[id] {
				continue
			}
			seen[id] = true
			res.Listed++
			queued = append(queued, ex)
		}
		token = resp.GetNextPageToken()
		if len(token) == 0 {
			break
		}
		if err := ctx.Err(); err != nil {
			return queued, fmt.Errorf("wake queued: %w", err)
		}
	}
	if len(token) > 0 {
		logger(ctx).Warn("wake queued: stopped at the page limit", "pages", wakeMaxPages, "listed", res.Listed)
	}
	// oldest first: the customer waiting longest routes first
	slices.SortStableFunc(queued, func(a, b *workflowpb.WorkflowExecutionInfo) int {
		return a.GetStartTime().AsTime().Compare(b.GetStartTime().AsTime())
	})
	return queued, nil
}

// signalQueued signals each listed consultation's current run (runID "": the listed one may have
// continued-as-new) and counts the outcome.
func (r *Router) signalQueued(ctx context.Context, queued []*workflowpb.WorkflowExecutionInfo, signal string, arg desk.RouteNow, res *WakeResult) {
	for _, ex := range queued {
		id := ex.GetExecution().GetWorkflowId()
		err := r.Waker.SignalWorkflow(ctx, id, "", signal, arg)
		var nf *serviceerror.NotFound
		switch {
		case err == nil:
			res.Signaled++
		case errors.As(err, &nf):
			res.Gone++
		default:
			res.Failed++
			logger(ctx).Warn("wake queued: signal failed", "workflowID", id, "error", err)
		}
	}
}
