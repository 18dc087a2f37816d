package activities

import (
	"context"
	"strings"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

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
}

// SendInput is one text message. Key (workflow ID + "/" + step) derives MsgSeq/MsgRandom, so a
// retried send is deduplicated by Tencent (120 s window). Relay marks a copy impersonating the
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
}

// SendResult is Tencent's answer.
type SendResult struct {
	MsgKey    string `json:"msgKey"`
	MsgTime   int64  `json:"msgTime"`
	MsgSeq    uint32 `json:"msgSeq"`
	MsgRandom uint32 `json:"msgRandom"`
}

// Send sends one C2C text message (sendmsg). An account that is not imported is imported once
// and the message resent with the same MsgSeq/MsgRandom.
func (m *IM) Send(ctx context.Context, in SendInput) (SendResult, error) {
	if in.Key == "" || in.To == "" || (strings.TrimSpace(in.Text) == "" && len(in.Body) == 0) {
		return SendResult{}, temporal.NewNonRetryableApplicationError("send: key, to and text are required", ErrTypeBadInput, nil)
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
	resp, err := m.Client.SendMsg(ctx, req)
	if err != nil && tim.IsNotImported(err) {
		activity.GetLogger(ctx).Info("importing accounts before resending", "from", from, "to", in.To)
		if _, ierr := m.Client.ImportAccounts(ctx, []string{from, in.To}); ierr != nil {
			return SendResult{}, classifyIM("send: import accounts", ierr)
		}
		resp, err = m.Client.SendMsg(ctx, req)
	}
	if err != nil {
		return SendResult{}, classifyIM("send", err)
	}
	return SendResult{MsgKey: resp.MsgKey, MsgTime: resp.MsgTime, MsgSeq: seq, MsgRandom: rnd}, nil
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
func (m *IM) ImportRoster(ctx context.Context, in RosterUpdate) (ImportResult, error) {
	ro, err := ParseRoster([]byte(in.YAML))
	if err != nil {
		return ImportResult{}, temporal.NewNonRetryableApplicationError("import roster: invalid roster", ErrTypeBadInput, err)
	}
	return m.Import(ctx, ImportInput{UserIDs: ro.AccountIDs()})
}
