package activities

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"golang.org/x/time/rate"

	"github.com/timdesk/timdesk/desk"
	"github.com/timdesk/timdesk/tim"
)

// Sync modes for SendInput.Sync (Tencent's SyncOtherMachine).
const (
	SyncToSender   = 1 // also on the sender's devices and roaming
	NoSyncToSender = 2 // never on the sender's devices (relays impersonating the customer)
)

// IM sends messages and imports accounts through the Tencent IM REST API.
type IM struct {
	Client *tim.Client
	// ServiceAccount is the public face (default "support"); Send uses it when From is empty.
	ServiceAccount string
	// Limiter, when set, paces this worker's sendmsg calls: Tencent's per-app quota (200/s by
	// default) divided among the worker replicas (TIMDESK_SEND_RATE). A send waits for its turn
	// rather than being throttled by Tencent and retried.
	Limiter *rate.Limiter
}

// NewSendLimiter paces perSecond sends (bursts of a tenth of a second's worth); 0 or less: none.
func NewSendLimiter(perSecond float64) *rate.Limiter {
	if perSecond <= 0 {
		return nil
	}
	return rate.NewLimiter(rate.Limit(perSecond), max(1, int(perSecond/10)))
}

// Exactly-once sends beyond Tencent's dedupe window. Tencent drops a sendmsg repeating
// sender+MsgSeq+MsgRandom+MsgBody only within 120 s, while Temporal retries Send for up to 30
// minutes. A retry whose first attempt was scheduled more than SendDedupeSafeAge earlier therefore
// first looks for the message in the recipient's roaming history (admin_getroammsg with
// Operator_Account=To, Peer_Account=From: relays use SyncOtherMachine=2 and are invisible from the
// sender's side) between ScheduledTime-SendHistorySlack and StartedTime+SendHistorySlack, and
// reports the message found instead of sending it again.
const (
	// SendDedupeSafeAge is how old a send's first scheduling may be for a retry to rely on
	// Tencent's 120 s dedupe alone (20 s margin for clock skew and request time).
	SendDedupeSafeAge = 100 * time.Second
	// SendHistorySlack widens the history window on both sides (Temporal's and Tencent's clocks).
	SendHistorySlack = 2 * time.Minute
)

// SendInput is one message: Text, or Body forwarded as it came (non-text elements). Key (workflow ID + "/" + step) derives MsgSeq/MsgRandom, so a
// retried send is deduplicated by Tencent (120 s window; later retries look in the history first). Relay marks a copy impersonating the
// customer for an agent: SyncOtherMachine=2, so it never shows on the customer's devices. Both
// before/after-send callbacks are always forbidden: timdesk's own sends must not come back to it.
type SendInput struct {
	Key             string `json:"key"`
	From            string `json:"from,omitempty"`
	To              string `json:"to"`
	Text            string `json:"text"`
	Relay           bool   `json:"relay,omitempty"`
	CloudCustomData string `json:"cloudCustomData,omitempty"`
	// Body, when set, is sent as is instead of Text (forwarding non-text messages).
	Body tim.MsgBody `json:"body,omitempty"`
	// Since is the earliest time an earlier attempt of this send may have run: the time of the
	// event that caused it (the customer's message, a deadline). A local activity's scheduled
	// time starts afresh when a crashed worker's workflow task runs again, so Send takes the
	// earlier of the two to decide whether Tencent's dedupe window still covers a resend.
	Since time.Time `json:"since,omitzero"`
}

// SendResult is Tencent's answer. Recovered is true when a retry found the message already
// delivered by an earlier attempt (whose answer was lost) and did not send it again.
type SendResult struct {
	MsgKey    string `json:"msgKey"`
	MsgTime   int64  `json:"msgTime"`
	MsgSeq    uint32 `json:"msgSeq"`
	MsgRandom uint32 `json:"msgRandom"`
	Recovered bool   `json:"recovered,omitempty"`
}

// Send sends one C2C message (sendmsg): Text as a TIMTextElem, or Body as is. An account that is not imported is imported once
// and the message resent with the same MsgSeq/MsgRandom. A retry more than SendDedupeSafeAge after
// the first scheduling returns the earlier attempt's message when the history has it.
func (m *IM) Send(ctx context.Context, in SendInput) (SendResult, error) {
	if in.Key == "" || in.To == "" || (strings.TrimSpace(in.Text) == "" && len(in.Body) == 0) {
		return SendResult{}, temporal.NewNonRetryableApplicationError("send: key, to and text or body are required", ErrTypeBadInput, nil)
	}
	body := in.Body
	if len(body) == 0 {
		body = tim.MsgBody{tim.TextElem(in.Text)}
	}
	from := in.From
	if from == "" {
		from = m.ServiceAccount
	}
	seq, rnd := tim.DeriveMsgIDs(in.Key)
	req := tim.SendMsgRequest{
		SyncOtherMachine:      SyncToSender,
		FromAccount:           from,
		ToAccount:             in.To,
		MsgSeq:                seq,
		MsgRandom:             rnd,
		MsgBody:               body,
		CloudCustomData:       in.CloudCustomData,
		ForbidCallbackControl: []string{tim.ForbidBeforeSendMsgCallback, tim.ForbidAfterSendMsgCallback},
	}
	if in.Relay {
		req.SyncOtherMachine = NoSyncToSender
	}
	info := activity.GetInfo(ctx)
	first, started := info.ScheduledTime, info.StartedTime
	if started.IsZero() {
		started = time.Now()
	}
	if !in.Since.IsZero() && in.Since.Before(first) {
		first = in.Since
	}
	if (info.Attempt > 1 || !in.Since.IsZero()) && started.Sub(first) > SendDedupeSafeAge {
		found, ok, err := m.findSent(ctx, req, first, started)
		if err != nil {
			return SendResult{}, err
		}
		if ok {
			activity.GetLogger(ctx).Info("send already delivered by an earlier attempt", "attempt", info.Attempt, "to", in.To, "msgKey", found.MsgKey)
			return SendResult{MsgKey: found.MsgKey, MsgTime: found.MsgTimeStamp, MsgSeq: seq, MsgRandom: rnd, Recovered: true}, nil
		}
	}
	if m.Limiter != nil {
		if err := m.Limiter.Wait(ctx); err != nil {
			return SendResult{}, fmt.Errorf("send: wait for the send quota: %w", err)
		}
	}
	resp, err := m.Client.SendMsg(ctx, req)
	if err != nil && tim.IsNotImported(err) {
		activity.GetLogger(ctx).Info("importing accounts before resending", "from", from, "to", in.To)
		if _, ierr := m.Client.ImportAccounts(ctx, []string{from, in.To}); ierr != nil {
			countSendFailure(ctx, ierr)
			return SendResult{}, classifyIM("send: import accounts", ierr)
		}
		resp, err = m.Client.SendMsg(ctx, req)
	}
	if err != nil {
		countSendFailure(ctx, err)
		return SendResult{}, classifyIM("send", err)
	}
	return SendResult{MsgKey: resp.MsgKey, MsgTime: resp.MsgTime, MsgSeq: seq, MsgRandom: rnd}, nil
}

// MetricSendFailures counts failed Send attempts (each Temporal retry attempt counts once), label
// error_code: Tencent's ErrorCode (e.g. 20003, 60007, 80002), http_<status> for a non-200
// answer, or transport (timeout, connection refused). The worker's /metrics shows it as
// timdesk_send_failures_total.
const MetricSendFailures = "timdesk_send_failures"

// countSendFailure adds err to MetricSendFailures.
func countSendFailure(ctx context.Context, err error) {
	code := "transport"
	var apiErr *tim.APIError
	if errors.As(err, &apiErr) {
		if apiErr.Code != 0 {
			code = strconv.Itoa(apiErr.Code)
		} else {
			code = "http_" + strconv.Itoa(apiErr.HTTPStatus)
		}
	}
	activity.GetMetricsHandler(ctx).WithTags(map[string]string{"error_code": code}).Counter(MetricSendFailures).Inc(1)
}

// findSent looks for req (same sender, MsgSeq and MsgRandom) in the recipient's roaming history
// around the activity's first scheduling. An account that does not exist means nothing was sent;
// a permanent lookup failure is logged and treated as "not found" (deliver at least once rather
// than never); a transient one is returned for a retry.
func (m *IM) findSent(ctx context.Context, req tim.SendMsgRequest, scheduled, started time.Time) (tim.RoamMsg, bool, error) {
	msgs, err := m.Client.AdminGetRoamMsgAll(ctx, tim.AdminGetRoamMsgRequest{
		OperatorAccount: req.ToAccount,
		PeerAccount:     req.FromAccount,
		MinTime:         scheduled.Add(-SendHistorySlack).Unix(),
		MaxTime:         started.Add(SendHistorySlack).Unix(),
	})
	for _, msg := range msgs {
		if msg.FromAccount == req.FromAccount && msg.MsgSeq == req.MsgSeq && msg.MsgRandom == req.MsgRandom {
			return msg, true, nil
		}
	}
	switch {
	case err == nil, tim.IsNotImported(err):
		return tim.RoamMsg{}, false, nil
	case tim.IsRetryable(err) || ctx.Err() != nil:
		return tim.RoamMsg{}, false, classifyIM("send: look up history", err)
	}
	activity.GetLogger(ctx).Warn("send: history lookup failed; sending again", "to", req.ToAccount, "error", err)
	return tim.RoamMsg{}, false, nil
}

// ImportInput lists the accounts to import (any number; empty IDs are skipped).
type ImportInput struct {
	UserIDs []string `json:"userIDs"`
}

// ImportResult lists the accounts Tencent refused.
type ImportResult struct {
	Imported int      `json:"imported"`
	Failed   []string `json:"failed,omitempty"`
}

// Import imports accounts in batches of 100 (multiaccount_import); importing twice is harmless.
func (m *IM) Import(ctx context.Context, in ImportInput) (ImportResult, error) {
	ids := make([]string, 0, len(in.UserIDs))
	seen := map[string]bool{}
	for _, id := range in.UserIDs {
		if id != "" && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return ImportResult{}, nil
	}
	failed, err := m.Client.ImportAccounts(ctx, ids)
	if err != nil {
		return ImportResult{}, classifyIM("import accounts", err)
	}
	return ImportResult{Imported: len(ids) - len(failed), Failed: failed}, nil
}

// ImportRoster imports every agent and supervisor of a roster document (the desk workflow's
// roster update); an invalid roster is a permanent BadInput error.
func (m *IM) ImportRoster(ctx context.Context, in desk.RosterUpdate) (ImportResult, error) {
	ro, err := desk.ParseRoster([]byte(in.YAML))
	if err != nil {
		return ImportResult{}, temporal.NewNonRetryableApplicationError("import roster: invalid roster", ErrTypeBadInput, err)
	}
	return m.Import(ctx, ImportInput{UserIDs: ro.AccountIDs()})
}
