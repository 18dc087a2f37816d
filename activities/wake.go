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
	"go.temporal.io/sdk/converter"
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
	Slots     int `json:"slots"`     // free slots the first pass found (-1: a supervisor takes everyone)
	Left      int `json:"left"`      // queued consultations not woken: no free slot for them
	Signaled  int `json:"signaled"`  // signalled
	Gone      int `json:"gone"`      // closed between the listing and the signal
	Failed    int `json:"failed"`    // signal errors (logged; the consultation's own retry still runs)
	Pages     int `json:"pages"`
}

// WakeQueued signals the running consultations waiting for an agent (TimdeskStatus="queued", all
// visibility pages of wakePageSize) with in.Signal, so they route at once instead of at their
// next retry: the customers waiting longest (TimdeskQueuedSince), only as many as there are free
// slots (freeSlots), so a freed slot goes to the customer who has waited longest rather than to
// whichever woken consultation routes first. With in.Recheck it looks again that long after: the
// slots still free (a woken customer could not use one, e.g. they timed out on that agent before,
// or visibility showed a consultation late) go to the next customers in line who were not woken
// yet (each consultation is signalled once per wake-up). It is idempotent: a consultation that is
// not waiting ignores the signal, one that closed meanwhile is counted as gone. A listing or
// counting failure is returned (retried); signal failures are counted and logged. With no Waker
// configured there is nothing to wake.
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
	seen, woken := map[string]bool{}, map[string]bool{}
	queued, err := r.listQueued(ctx, seen, &res)
	if err != nil {
		return res, err
	}
	slots, err := r.freeSlots(ctx, len(queued) > 0)
	if err != nil {
		return res, err
	}
	res.Slots = slots
	r.signalQueued(ctx, inLine(queued, woken, slots), in.Signal, arg, &res)
	if in.Recheck > 0 {
		select {
		case <-ctx.Done():
			return res, fmt.Errorf("wake queued: before the re-check: %w", ctx.Err())
		case <-time.After(in.Recheck):
		}
		listed := res.Listed
		again, err := r.listQueued(ctx, seen, &res)
		res.Rechecked = res.Listed - listed
		if err == nil {
			slots, err = r.freeSlots(ctx, len(again) > 0)
		}
		if err != nil {
			// The first pass was signalled: a retry would signal it all again. The queue's own
			// routing retries cover what the re-check would have found.
			logger(ctx).Warn("wake queued: re-check failed", "reason", reason, "error", err)
		} else {
			r.signalQueued(ctx, inLine(again, woken, slots), in.Signal, arg, &res)
			queued = again
		}
	}
	for _, ex := range queued {
		if !woken[ex.GetExecution().GetWorkflowId()] {
			res.Left++
		}
	}
	logger(ctx).Info("woke queued consultations", "reason", reason, "listed", res.Listed, "rechecked", res.Rechecked,
		"slots", res.Slots, "left", res.Left, "signaled", res.Signaled, "gone", res.Gone, "failed", res.Failed, "pages", res.Pages)
	return res, nil
}

// inLine is the first slots consultations of queued (in queue order) not yet in woken, added to
// woken; every one not in woken when slots is negative (a supervisor takes everyone).
func inLine(queued []*workflowpb.WorkflowExecutionInfo, woken map[string]bool, slots int) []*workflowpb.WorkflowExecutionInfo {
	var out []*workflowpb.WorkflowExecutionInfo
	for _, ex := range queued {
		if slots >= 0 && len(out) >= slots {
			break
		}
		id := ex.GetExecution().GetWorkflowId()
		if woken[id] {
			continue
		}
		woken[id] = true
		out = append(out, ex)
	}
	return out
}

// freeSlots counts the consultations the agents on duty could take now, as Route sees them: the
// free capacity of every agent on duty who is not offline (loads from visibility); -1 when a
// supervisor is on the roster and not offline (Route gives them whoever no agent can take). Zero
// when nobody is on duty. Without a queue (queued false) it counts nothing.
func (r *Router) freeSlots(ctx context.Context, queued bool) (int, error) {
	if !queued {
		return 0, nil
	}
	ds := r.desk(ctx)
	ro, err := r.roster(ctx, ds)
	if err != nil {
		return 0, err
	}
	onDuty := ro.OnDuty(r.now())
	if len(onDuty) == 0 {
		return 0, nil
	}
	for _, id := range ro.Supervisors {
		if !ds.Offline(id) {
			return -1, nil
		}
	}
	free := 0
	for _, a := range onDuty {
		if ds.Offline(a.ID) {
			continue
		}
		load, err := r.load(ctx, a.ID)
		if err != nil {
			return 0, fmt.Errorf("wake queued: %w", err)
		}
		free += max(a.Capacity-load, 0)
	}
	return free, nil
}

// listQueued lists the queued consultations in queue order (the customer waiting longest first:
// TimdeskQueuedSince, then the start time), in at most wakeMaxPages pages; the ones not in seen are
// added to it and counted as listed.
func (r *Router) listQueued(ctx context.Context, seen map[string]bool, res *WakeResult) ([]*workflowpb.WorkflowExecutionInfo, error) {
	var queued []*workflowpb.WorkflowExecutionInfo
	listed := map[string]bool{}
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
			if id == "" || listed[id] {
				continue
			}
			listed[id] = true
			if !seen[id] {
				seen[id] = true
				res.Listed++
			}
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
	// the customer waiting longest first
	slices.SortStableFunc(queued, func(a, b *workflowpb.WorkflowExecutionInfo) int {
		return QueuedSince(a).Compare(QueuedSince(b))
	})
	return queued, nil
}

// QueuedSince is since when a listed consultation's customer has waited (TimdeskQueuedSince),
// else its start time: the queue's order.
func QueuedSince(ex *workflowpb.WorkflowExecutionInfo) time.Time {
	if p := ex.GetSearchAttributes().GetIndexedFields()[desk.QueuedSinceAttribute]; p != nil {
		var t time.Time
		if err := converter.GetDefaultDataConverter().FromPayload(p, &t); err == nil && !t.IsZero() {
			return t
		}
	}
	return ex.GetStartTime().AsTime()
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
