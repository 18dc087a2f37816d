package tim

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Message element types (MsgBody[].MsgType), TENCENT_IM.md 3.11.
const (
	MsgTypeText      = "TIMTextElem"
	MsgTypeCustom    = "TIMCustomElem"
	MsgTypeLocation  = "TIMLocationElem"
	MsgTypeFace      = "TIMFaceElem"
	MsgTypeSound     = "TIMSoundElem"
	MsgTypeImage     = "TIMImageElem"
	MsgTypeFile      = "TIMFileElem"
	MsgTypeVideoFile = "TIMVideoFileElem"
	MsgTypeRelay     = "TIMRelayElem"
)

// ForbidCallbackControl values: suppress the before/after send-message callbacks for one
// REST-sent message (sendmsg and send_group_msg).
const (
	ForbidBeforeSendMsgCallback = "ForbidBeforeSendMsgCallback"
	ForbidAfterSendMsgCallback  = "ForbidAfterSendMsgCallback"
)

// SendMsgControl values.
const (
	SendMsgNoUnread              = "NoUnread"
	SendMsgNoLastMsg             = "NoLastMsg"
	SendMsgWithMuteNotifications = "WithMuteNotifications"
)

// MaxBatchRecipients is the largest To_Account list batchsendmsg accepts.
const MaxBatchRecipients = 500

// MsgElement is one element of a message body: {"MsgType": ..., "MsgContent": {...}}.
// MsgContent is kept raw, so element types this package does not model round-trip unchanged.
type MsgElement struct {
	MsgType    string          `json:"MsgType"`
	MsgContent json.RawMessage `json:"MsgContent"`
}

// TextContent is the MsgContent of a TIMTextElem.
type TextContent struct {
	Text string `json:"Text"`
}

// CustomContent is the MsgContent of a TIMCustomElem. Data is the payload (not pushed), Desc the
// offline-push text, Ext goes into the APNs payload.
type CustomContent struct {
	Data  string `json:"Data"`
	Desc  string `json:"Desc"`
	Ext   string `json:"Ext"`
	Sound string `json:"Sound,omitempty"`
}

// TextElem returns a TIMTextElem element carrying text.
func TextElem(text string) MsgElement {
	return MsgElement{MsgType: MsgTypeText, MsgContent: mustMarshal(TextContent{Text: text})}
}

// CustomElem returns a TIMCustomElem element.
func CustomElem(data, desc, ext string) MsgElement {
	return MsgElement{MsgType: MsgTypeCustom, MsgContent: mustMarshal(CustomContent{Data: data, Desc: desc, Ext: ext})}
}

// mustMarshal encodes values that cannot fail to encode (structs of strings).
func mustMarshal(v any) json.RawMessage {
	b, _ := json.Marshal(v) // a struct of strings always encodes
	return b
}

// Text returns the element's text and true when it is a well-formed TIMTextElem.
func (e MsgElement) Text() (string, bool) {
	if e.MsgType != MsgTypeText {
		return "", false
	}
	var c TextContent
	if err := json.Unmarshal(e.MsgContent, &c); err != nil {
		return "", false
	}
	return c.Text, true
}

// Custom returns the element's content and true when it is a well-formed TIMCustomElem.
func (e MsgElement) Custom() (CustomContent, bool) {
	if e.MsgType != MsgTypeCustom {
		return CustomContent{}, false
	}
	var c CustomContent
	if err := json.Unmarshal(e.MsgContent, &c); err != nil {
		return CustomContent{}, false
	}
	return c, true
}

// MsgBody is a message body: a list of elements.
type MsgBody []MsgElement

// Text returns the texts of all TIMTextElem elements concatenated in order (no separator: a
// client splits one typed message into several text elements around faces and mentions);
// "" when there is none.
func (b MsgBody) Text() string {
	var sb strings.Builder
	for _, e := range b {
		if t, ok := e.Text(); ok {
			sb.WriteString(t)
		}
	}
	return sb.String()
}

// SendMsgRequest is the body of v4/openim/sendmsg (TENCENT_IM.md 3.1). MsgRandom is required;
// set MsgSeq and MsgRandom from [DeriveMsgIDs] so that a resend is deduplicated by Tencent.
type SendMsgRequest struct {
	SyncOtherMachine      int      `json:"SyncOtherMachine,omitempty"`
	FromAccount           string   `json:"From_Account,omitempty"`
	ToAccount             string   `json:"To_Account"`
	MsgLifeTime           *int     `json:"MsgLifeTime,omitempty"`
	MsgSeq                uint32   `json:"MsgSeq,omitempty"`
	MsgRandom             uint32   `json:"MsgRandom"`
	MsgBody               MsgBody  `json:"MsgBody"`
	CloudCustomData       string   `json:"CloudCustomData,omitempty"`
	SendMsgControl        []string `json:",omitempty"`
	ForbidCallbackControl []string `json:",omitempty"`
}

// SendMsgResponse is the result of sendmsg. MsgId is present only with newer servers.
type SendMsgResponse struct {
	Envelope
	MsgTime int64  `json:"MsgTime"`
	MsgKey  string `json:"MsgKey"`
	MsgId   string `json:"MsgId,omitempty"`
}

// SendMsg sends one C2C message (v4/openim/sendmsg), as FromAccount or, when empty, as the
// administrator. It triggers the C2C callbacks unless ForbidCallbackControl says otherwise.
func (c *Client) SendMsg(ctx context.Context, req SendMsgRequest) (SendMsgResponse, error) {
	var resp SendMsgResponse
	if req.ToAccount == "" {
		return resp, fmt.Errorf("tim sendmsg: %w: empty To_Account", ErrInvalidRequest)
	}
	if len(req.MsgBody) == 0 {
		return resp, fmt.Errorf("tim sendmsg: %w: empty MsgBody", ErrInvalidRequest)
	}
	err := c.call(ctx, CommandSendMsg, req, &resp)
	return resp, err
}

// BatchSendMsgRequest is the body of v4/openim/batchsendmsg (≤ 500 recipients; never triggers
// callbacks).
type BatchSendMsgRequest struct {
	SyncOtherMachine int      `json:"SyncOtherMachine,omitempty"`
	FromAccount      string   `json:"From_Account,omitempty"`
	ToAccount        []string `json:"To_Account"`
	MsgLifeTime      *int     `json:"MsgLifeTime,omitempty"`
	MsgSeq           uint32   `json:"MsgSeq,omitempty"`
	MsgRandom        uint32   `json:"MsgRandom"`
	MsgBody          MsgBody  `json:"MsgBody"`
	CloudCustomData  string   `json:"CloudCustomData,omitempty"`
	SendMsgControl   []string `json:",omitempty"`
}

// AccountError is a per-account failure in an ErrorList (e.g. 70107: account not imported).
type AccountError struct {
	ToAccount string `json:"To_Account"`
	ErrorCode int    `json:"ErrorCode"`
}

// BatchSendMsgResponse is the result of batchsendmsg. The call succeeds (ErrorCode 0) when any
// recipient succeeded; failed recipients are listed in ErrorList.
type BatchSendMsgResponse struct {
	Envelope
	MsgKey    string         `json:"MsgKey"`
	ErrorList []AccountError `json:"ErrorList,omitempty"`
}

// BatchSendMsg sends one message to up to 500 recipients (v4/openim/batchsendmsg). A nil error
// with a non-empty ErrorList means partial success.
func (c *Client) BatchSendMsg(ctx context.Context, req BatchSendMsgRequest) (BatchSendMsgResponse, error) {
	var resp BatchSendMsgResponse
	switch {
	case len(req.ToAccount) == 0:
		return resp, fmt.Errorf("tim batchsendmsg: %w: empty To_Account", ErrInvalidRequest)
	case len(req.ToAccount) > MaxBatchRecipients:
		return resp, fmt.Errorf("tim batchsendmsg: %w: %d recipients, at most %d", ErrInvalidRequest, len(req.ToAccount), MaxBatchRecipients)
	case len(req.MsgBody) == 0:
		return resp, fmt.Errorf("tim batchsendmsg: %w: empty MsgBody", ErrInvalidRequest)
	}
	err := c.call(ctx, CommandBatchSendMsg, req, &resp)
	return resp, err
}

// AdminGetRoamMsgRequest is the body of v4/openim/admin_getroammsg: the C2C history between
// OperatorAccount and PeerAccount seen from OperatorAccount, MinTime…MaxTime (Unix seconds).
type AdminGetRoamMsgRequest struct {
	OperatorAccount string `json:"Operator_Account"`
	PeerAccount     string `json:"Peer_Account"`
	MaxCnt          int    `json:"MaxCnt"`
	MinTime         int64  `json:"MinTime"`
	MaxTime         int64  `json:"MaxTime"`
	LastMsgKey      string `json:"LastMsgKey,omitempty"`
}

// RoamMsg is one message of admin_getroammsg. MsgFlagBits 8 means recalled.
type RoamMsg struct {
	FromAccount     string  `json:"From_Account"`
	ToAccount       string  `json:"To_Account"`
	MsgSeq          uint32  `json:"MsgSeq"`
	MsgRandom       uint32  `json:"MsgRandom"`
	MsgTimeStamp    int64   `json:"MsgTimeStamp"`
	MsgFlagBits     int     `json:"MsgFlagBits"`
	IsPeerRead      int     `json:"IsPeerRead"`
	MsgKey          string  `json:"MsgKey"`
	MsgBody         MsgBody `json:"MsgBody"`
	CloudCustomData string  `json:"CloudCustomData,omitempty"`
}

// AdminGetRoamMsgResponse is one page of admin_getroammsg; Complete 1 means the last page.
type AdminGetRoamMsgResponse struct {
	Envelope
	Complete    int       `json:"Complete"`
	MsgCnt      int       `json:"MsgCnt"`
	LastMsgTime int64     `json:"LastMsgTime"`
	LastMsgKey  string    `json:"LastMsgKey"`
	MsgList     []RoamMsg `json:"MsgList"`
}

// DefaultRoamMsgPageSize is the MaxCnt AdminGetRoamMsgAll uses when the request has none.
const DefaultRoamMsgPageSize = 100

// maxRoamPages bounds AdminGetRoamMsgAll against a server that never says Complete.
const maxRoamPages = 1000

// AdminGetRoamMsg fetches one page of C2C history (v4/openim/admin_getroammsg).
func (c *Client) AdminGetRoamMsg(ctx context.Context, req AdminGetRoamMsgRequest) (AdminGetRoamMsgResponse, error) {
	var resp AdminGetRoamMsgResponse
	if req.OperatorAccount == "" || req.PeerAccount == "" {
		return resp, fmt.Errorf("tim admin_getroammsg: %w: Operator_Account and Peer_Account are required", ErrInvalidRequest)
	}
	err := c.call(ctx, CommandAdminGetRoamMsg, req, &resp)
	return resp, err
}

// ErrPaging reports a history page that says "not complete" without a usable cursor.
var ErrPaging = errors.New("roam message paging made no progress")

// AdminGetRoamMsgAll pages through admin_getroammsg until Complete == 1 (next request: MaxTime =
// LastMsgTime, LastMsgKey = LastMsgKey) and returns all messages in server order. It stops with
// [ErrPaging] when a page repeats the previous cursor, and after 1000 pages.
func (c *Client) AdminGetRoamMsgAll(ctx context.Context, req AdminGetRoamMsgRequest) ([]RoamMsg, error) {
	if req.MaxCnt <= 0 {
		req.MaxCnt = DefaultRoamMsgPageSize
	}
	var all []RoamMsg
	for range maxRoamPages {
		page, err := c.AdminGetRoamMsg(ctx, req)
		if err != nil {
			return all, err
		}
		all = append(all, page.MsgList...)
		if page.Complete == 1 {
			return all, nil
		}
		if page.LastMsgKey == "" || (page.LastMsgKey == req.LastMsgKey && page.LastMsgTime == req.MaxTime) {
			return all, fmt.Errorf("tim admin_getroammsg: %w", ErrPaging)
		}
		req.MaxTime, req.LastMsgKey = page.LastMsgTime, page.LastMsgKey
	}
	return all, fmt.Errorf("tim admin_getroammsg: %w: more than %d pages", ErrPaging, maxRoamPages)
}

// AdminMsgWithdrawRequest is the body of v4/openim/admin_msgwithdraw.
type AdminMsgWithdrawRequest struct {
	FromAccount string `json:"From_Account"`
	ToAccount   string `json:"To_Account"`
	MsgKey      string `json:"MsgKey"`
}

// AdminMsgWithdraw recalls one C2C message (v4/openim/admin_msgwithdraw). Codes 20022 (no such
// message) and 20023 (already recalled) come back as *APIError.
func (c *Client) AdminMsgWithdraw(ctx context.Context, req AdminMsgWithdrawRequest) error {
	if req.FromAccount == "" || req.ToAccount == "" || req.MsgKey == "" {
		return fmt.Errorf("tim admin_msgwithdraw: %w: From_Account, To_Account and MsgKey are required", ErrInvalidRequest)
	}
	return c.call(ctx, CommandAdminMsgWithdraw, req, nil)
}

// DeriveMsgIDs derives a MsgSeq (never 0, so it is always sent) and a MsgRandom from a
// caller-chosen key such as workflowID+"/"+step, so that a resend of the same logical message
// within Tencent's 120 s dedupe window carries the same ids and is dropped as a duplicate.
func DeriveMsgIDs(key string) (msgSeq, msgRandom uint32) {
	sum := sha256.Sum256([]byte("timdesk/msgids\x00" + key))
	msgSeq = binary.BigEndian.Uint32(sum[0:4])
	msgRandom = binary.BigEndian.Uint32(sum[4:8])
	if msgSeq == 0 {
		msgSeq = 1
	}
	return msgSeq, msgRandom
}
