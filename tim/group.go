package tim

import (
	"context"
	"fmt"
)

// Group message priorities (SendGroupMsgRequest.MsgPriority; case-sensitive).
const (
	MsgPriorityHigh   = "High"
	MsgPriorityNormal = "Normal"
	MsgPriorityLow    = "Low"
)

// SendGroupMsgRequest is the body of v4/group_open_http_svc/send_group_msg (TENCENT_IM.md 3.10).
// The same Random and content from the same sender within 5 minutes is dropped as a duplicate.
type SendGroupMsgRequest struct {
	GroupId               string   `json:"GroupId"`
	Random                uint32   `json:"Random"`
	MsgBody               MsgBody  `json:"MsgBody"`
	FromAccount           string   `json:"From_Account,omitempty"`
	MsgPriority           string   `json:"MsgPriority,omitempty"`
	ForbidCallbackControl []string `json:",omitempty"`
	OnlineOnlyFlag        int      `json:"OnlineOnlyFlag,omitempty"`
	SendMsgControl        []string `json:",omitempty"`
	CloudCustomData       string   `json:"CloudCustomData,omitempty"`
	ToAccount             []string `json:"To_Account,omitempty"`
	TopicId               string   `json:"TopicId,omitempty"`
}

// SendGroupMsgResponse is the result of send_group_msg. MsgSeq is the per-group message id;
// MsgDropReason is non-empty (e.g. "MsgFreqCtrl") when the message was dropped.
type SendGroupMsgResponse struct {
	Envelope
	MsgTime       int64  `json:"MsgTime"`
	MsgSeq        uint64 `json:"MsgSeq"`
	MsgDropReason string `json:"MsgDropReason,omitempty"`
}

// SendGroupMsg sends a message to a group (v4/group_open_http_svc/send_group_msg).
func (c *Client) SendGroupMsg(ctx context.Context, req SendGroupMsgRequest) (SendGroupMsgResponse, error) {
	var resp SendGroupMsgResponse
	if req.GroupId == "" {
		return resp, fmt.Errorf("tim send_group_msg: %w: empty GroupId", ErrInvalidRequest)
	}
	if len(req.MsgBody) == 0 {
		return resp, fmt.Errorf("tim send_group_msg: %w: empty MsgBody", ErrInvalidRequest)
	}
	err := c.call(ctx, CommandSendGroupMsg, req, &resp)
	return resp, err
}
