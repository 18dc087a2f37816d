package tim

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Callback commands (query CallbackCommand, repeated in the body).
const (
	CmdC2CBeforeSendMsg   = "C2C.CallbackBeforeSendMsg"
	CmdC2CAfterSendMsg    = "C2C.CallbackAfterSendMsg"
	CmdStateChange        = "State.StateChange"
	CmdGroupAfterSendMsg  = "Group.CallbackAfterSendMsg"
	CmdGroupBeforeSendMsg = "Group.CallbackBeforeSendMsg"
)

// CallbackWindow is how far RequestTime may be from now (either way) for a signed callback.
const CallbackWindow = 60 * time.Second

// Callback errors; test with errors.Is.
var (
	// ErrCallbackQuery: a required query parameter is missing or malformed.
	ErrCallbackQuery = errors.New("callback query invalid")
	// ErrCallbackAppID: SdkAppid is not ours.
	ErrCallbackAppID = errors.New("callback sdkappid mismatch")
	// ErrCallbackSign: Sign is missing (with a token configured) or wrong.
	ErrCallbackSign = errors.New("callback signature invalid")
	// ErrCallbackStale: RequestTime is more than CallbackWindow away from now.
	ErrCallbackStale = errors.New("callback request time outside window")
	// ErrCallbackBody: the body is not the expected callback JSON or lacks required fields.
	ErrCallbackBody = errors.New("callback body invalid")
)

// FieldError is a callback body field that breaks its rule; it wraps ErrCallbackBody. Error
// names the field and the rule, never the value, so it is safe to log and to answer with.
type FieldError struct {
	Field   string // JSON name, e.g. "From_Account", "Info.To_Account"
	Problem string // e.g. "longer than 32 bytes"
}

func (e *FieldError) Error() string {
	return ErrCallbackBody.Error() + ": " + e.Field + ": " + e.Problem
}

// Unwrap makes errors.Is(err, ErrCallbackBody) hold.
func (e *FieldError) Unwrap() error { return ErrCallbackBody }

// checkAccount applies ValidateUserID to a callback account field; empty is allowed unless
// required.
func checkAccount(field, id string, required bool) error {
	if id == "" && !required {
		return nil
	}
	if strings.ContainsRune(id, utf8.RuneError) {
		// JSON decoding turns invalid UTF-8 and lone surrogate escapes into U+FFFD: the ID that
		// was sent is not the one we would act on.
		return &FieldError{Field: field, Problem: "not valid UTF-8"}
	}
	if err := ValidateUserID(id); err != nil {
		return &FieldError{Field: field, Problem: strings.TrimPrefix(err.Error(), ErrInvalidUserID.Error()+": ")}
	}
	return nil
}

// Time fields are range-checked at parse time: Unix seconds within years 1970..9999 (and the
// millisecond fields likewise), so a time never fails later when it is encoded.
const (
	maxUnixSeconds = 253402300799 // 9999-12-31T23:59:59Z
	maxUnixMillis  = maxUnixSeconds*1000 + 999
)

func checkTime(field string, v, max int64) error {
	if v < 0 || v > max {
		return &FieldError{Field: field, Problem: "out of range (years 1970-9999)"}
	}
	return nil
}

// maxMsgKeyLen bounds MsgKey (Tencent's are "<seq>_<random>_<time>", about 30 bytes).
const maxMsgKeyLen = 128

func checkMsgKey(key string) error {
	if len(key) > maxMsgKeyLen {
		return &FieldError{Field: "MsgKey", Problem: fmt.Sprintf("longer than %d bytes", maxMsgKeyLen)}
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x21 || key[i] > 0x7e {
			return &FieldError{Field: "MsgKey", Problem: "not printable ASCII"}
		}
	}
	return nil
}

// checkMsgBody refuses a message body element Tencent never sends and cannot deliver: one
// without a MsgType, with a MsgContent that is not a JSON object, or a TIMTextElem whose Text is
// not a string. Element types this package does not know pass (they round-trip unchanged).
func checkMsgBody(body MsgBody) error {
	for i, el := range body {
		field := fmt.Sprintf("MsgBody[%d]", i)
		content := bytes.TrimSpace(el.MsgContent)
		switch {
		case el.MsgType == "":
			return &FieldError{Field: field + ".MsgType", Problem: "required"}
		case len(content) == 0 || content[0] != '{':
			return &FieldError{Field: field + ".MsgContent", Problem: "not an object"}
		case el.MsgType == MsgTypeText:
			var c struct {
				Text *string `json:"Text"`
			}
			if json.Unmarshal(content, &c) != nil || c.Text == nil {
				return &FieldError{Field: field + ".MsgContent.Text", Problem: "not a string"}
			}
		}
	}
	return nil
}

// firstError returns the first non-nil error.
func firstError(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// securityParams are the callback query parameters that decide which app a request is for and
// whether it is authentic; each may appear at most once, so a proxy and timdesk cannot read
// different values from one request.
var securityParams = []string{"SdkAppid", "CallbackCommand", "contenttype", "Sign", "RequestTime"}

// CallbackAuth is what VerifyCallback checks against. With an empty Token, Sign is optional
// (and ignored); with a Token, Sign and RequestTime are required.
type CallbackAuth struct {
	SDKAppID uint64
	Token    string
}

// CallbackQuery is the parsed callback query string. RequestTime is Unix seconds (0 if absent).
type CallbackQuery struct {
	SDKAppID    uint64
	Command     string
	ContentType string
	ClientIP    string
	OptPlatform string
	Sign        string
	RequestTime int64
}

// CallbackSign returns lowercase hex(SHA-256(token + decimal requestTime)), the callback Sign.
func CallbackSign(token string, requestTime int64) string {
	sum := sha256.Sum256([]byte(token + strconv.FormatInt(requestTime, 10)))
	return hex.EncodeToString(sum[:])
}

// VerifyCallback parses and authenticates a callback query: SdkAppid must equal auth.SDKAppID
// (ErrCallbackAppID); CallbackCommand must be present and contenttype, when present, json
// (ErrCallbackQuery); with a token, Sign must equal CallbackSign(token, RequestTime), compared
// in constant time (ErrCallbackSign), and RequestTime must be within ±60 s of now
// (ErrCallbackStale). Each of SdkAppid, CallbackCommand, contenttype, Sign and RequestTime may
// appear at most once and not also in other letter case, and SdkAppid and RequestTime only as
// canonical decimals (no sign, no leading zero) (ErrCallbackQuery). Verify this before parsing the
// body.
func VerifyCallback(query url.Values, now time.Time, auth CallbackAuth) (CallbackQuery, error) {
	for _, name := range securityParams {
		if len(query[name]) > 1 {
			return CallbackQuery{}, fmt.Errorf("verify callback: %w: %s given %d times", ErrCallbackQuery, name, len(query[name]))
		}
	}
	for given := range query {
		for _, name := range securityParams {
			if given != name && strings.EqualFold(given, name) {
				// Names are case-sensitive (Tencent's spelling), but a reader that folds case
				// would take this one for name, maybe with another value.
				return CallbackQuery{}, fmt.Errorf("verify callback: %w: %s also given with other letter case", ErrCallbackQuery, name)
			}
		}
	}
	q := CallbackQuery{
		Command:     query.Get("CallbackCommand"),
		ContentType: query.Get("contenttype"),
		ClientIP:    query.Get("ClientIP"),
		OptPlatform: query.Get("OptPlatform"),
		Sign:        query.Get("Sign"),
	}
	rawApp := query.Get("SdkAppid")
	if rawApp == "" {
		return q, fmt.Errorf("verify callback: %w: no SdkAppid", ErrCallbackQuery)
	}
	app, err := strconv.ParseUint(rawApp, 10, 64)
	if err != nil || strconv.FormatUint(app, 10) != rawApp {
		return q, fmt.Errorf("verify callback: %w: SdkAppid not a decimal number", ErrCallbackQuery)
	}
	q.SDKAppID = app
	if app != auth.SDKAppID {
		return q, fmt.Errorf("verify callback: %w", ErrCallbackAppID)
	}
	if q.Command == "" {
		return q, fmt.Errorf("verify callback: %w: no CallbackCommand", ErrCallbackQuery)
	}
	if q.ContentType != "" && !strings.EqualFold(q.ContentType, "json") {
		return q, fmt.Errorf("verify callback: %w: contenttype must be json", ErrCallbackQuery)
	}
	if rt := query.Get("RequestTime"); rt != "" {
		// Only the canonical form: "+1669872112" and "01669872112" parse to the time "1669872112"
		// was signed for, so one captured Sign would pass under several spellings of the query.
		if q.RequestTime, err = strconv.ParseInt(rt, 10, 64); err != nil || strconv.FormatInt(q.RequestTime, 10) != rt {
			return q, fmt.Errorf("verify callback: %w: RequestTime not a decimal number", ErrCallbackQuery)
		}
	} else if auth.Token != "" {
		return q, fmt.Errorf("verify callback: %w: no RequestTime", ErrCallbackQuery)
	}
	if auth.Token == "" {
		return q, nil
	}
	if q.Sign == "" {
		return q, fmt.Errorf("verify callback: %w: no Sign", ErrCallbackSign)
	}
	want := CallbackSign(auth.Token, q.RequestTime)
	if subtle.ConstantTimeCompare([]byte(strings.ToLower(q.Sign)), []byte(want)) != 1 {
		return q, fmt.Errorf("verify callback: %w", ErrCallbackSign)
	}
	window := int64(CallbackWindow / time.Second)
	if d := now.Unix() - q.RequestTime; d > window || d < -window {
		return q, fmt.Errorf("verify callback: %w", ErrCallbackStale)
	}
	return q, nil
}

// C2CMsgCallback is the body of C2C.CallbackBeforeSendMsg and C2C.CallbackAfterSendMsg.
// SendMsgResult, ErrorInfo and UnreadMsgNum are set only by the after-callback; MsgId and
// EventTime (ms) only by newer servers. Numbers decode from JSON numbers or strings; unknown
// fields are ignored.
type C2CMsgCallback struct {
	CallbackCommand string  `json:"CallbackCommand"`
	FromAccount     string  `json:"From_Account"`
	ToAccount       string  `json:"To_Account"`
	MsgSeq          uint32  `json:"MsgSeq"`
	MsgRandom       uint32  `json:"MsgRandom"`
	MsgTime         int64   `json:"MsgTime"`
	MsgKey          string  `json:"MsgKey"`
	MsgId           string  `json:"MsgId,omitempty"`
	OnlineOnlyFlag  int     `json:"OnlineOnlyFlag"`
	MsgBody         MsgBody `json:"MsgBody"`
	CloudCustomData string  `json:"CloudCustomData"`
	EventTime       int64   `json:"EventTime,omitempty"`
	SendMsgResult   int     `json:"SendMsgResult"`
	ErrorInfo       string  `json:"ErrorInfo,omitempty"`
	UnreadMsgNum    int     `json:"UnreadMsgNum"`
}

// UnmarshalJSON accepts numbers as JSON numbers or numeric strings.
func (c *C2CMsgCallback) UnmarshalJSON(b []byte) error {
	var w struct {
		CallbackCommand string     `json:"CallbackCommand"`
		FromAccount     string     `json:"From_Account"`
		ToAccount       string     `json:"To_Account"`
		MsgSeq          flexUint32 `json:"MsgSeq"`
		MsgRandom       flexUint32 `json:"MsgRandom"`
		MsgTime         flexInt64  `json:"MsgTime"`
		MsgKey          string     `json:"MsgKey"`
		MsgId           string     `json:"MsgId"`
		OnlineOnlyFlag  flexInt    `json:"OnlineOnlyFlag"`
		MsgBody         MsgBody    `json:"MsgBody"`
		CloudCustomData string     `json:"CloudCustomData"`
		EventTime       flexInt64  `json:"EventTime"`
		SendMsgResult   flexInt    `json:"SendMsgResult"`
		ErrorInfo       string     `json:"ErrorInfo"`
		UnreadMsgNum    flexInt    `json:"UnreadMsgNum"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*c = C2CMsgCallback{
		CallbackCommand: w.CallbackCommand, FromAccount: w.FromAccount, ToAccount: w.ToAccount,
		MsgSeq: uint32(w.MsgSeq), MsgRandom: uint32(w.MsgRandom), MsgTime: int64(w.MsgTime),
		MsgKey: w.MsgKey, MsgId: w.MsgId, OnlineOnlyFlag: int(w.OnlineOnlyFlag), MsgBody: w.MsgBody,
		CloudCustomData: w.CloudCustomData, EventTime: int64(w.EventTime),
		SendMsgResult: int(w.SendMsgResult), ErrorInfo: w.ErrorInfo, UnreadMsgNum: int(w.UnreadMsgNum),
	}
	return nil
}

// DecodeC2CMsg decodes a C2C before/after send-message callback body. From_Account and
// To_Account are required UserIDs (ValidateUserID), MsgKey is at most 128 bytes of printable
// ASCII, MsgTime and EventTime lie in years 1970..9999, every MsgBody element has a MsgType and
// an object MsgContent (a TIMTextElem a string Text); a broken field is a *FieldError naming it.
// A CallbackCommand other than the two C2C ones is rejected.
func DecodeC2CMsg(body []byte) (C2CMsgCallback, error) {
	if !utf8.Valid(body) {
		return C2CMsgCallback{}, fmt.Errorf("decode callback: %w", &FieldError{Field: "body", Problem: "not valid UTF-8"})
	}
	var cb C2CMsgCallback
	if err := json.Unmarshal(body, &cb); err != nil {
		return C2CMsgCallback{}, fmt.Errorf("decode c2c callback: %w", jsonError(body, err))
	}
	if err := checkKeys(body); err != nil {
		return C2CMsgCallback{}, fmt.Errorf("decode c2c callback: %w", err)
	}
	switch {
	case cb.CallbackCommand != "" && cb.CallbackCommand != CmdC2CBeforeSendMsg && cb.CallbackCommand != CmdC2CAfterSendMsg:
		return C2CMsgCallback{}, fmt.Errorf("decode c2c callback: %w", errOtherCommand)
	}
	if err := firstError(
		checkAccount("From_Account", cb.FromAccount, true),
		checkAccount("To_Account", cb.ToAccount, true),
		checkMsgKey(cb.MsgKey),
		checkTime("MsgTime", cb.MsgTime, maxUnixSeconds),
		checkTime("EventTime", cb.EventTime, maxUnixMillis),
		checkMsgBody(cb.MsgBody),
	); err != nil {
		return C2CMsgCallback{}, fmt.Errorf("decode c2c callback: %w", err)
	}
	return cb, nil
}

// State change actions and reasons (StateInfo).
const (
	StateLogin       = "Login"
	StateLogout      = "Logout"
	StateDisconnect  = "Disconnect"
	ReasonRegister   = "Register"
	ReasonUnregister = "Unregister"
	ReasonLinkClose  = "LinkClose"
	ReasonTimeOut    = "TimeOut"
)

// StateInfo is the Info object of State.StateChange.
type StateInfo struct {
	Action    string `json:"Action"`
	ToAccount string `json:"To_Account"`
	Reason    string `json:"Reason"`
}

// KickedDevice is a device kicked off by a Login.
type KickedDevice struct {
	Platform string `json:"Platform"`
}

// StateChangeCallback is the body of State.StateChange. EventTime is Unix milliseconds.
type StateChangeCallback struct {
	CallbackCommand string         `json:"CallbackCommand"`
	EventTime       int64          `json:"EventTime"`
	Info            StateInfo      `json:"Info"`
	KickedDevice    []KickedDevice `json:"KickedDevice,omitempty"`
}

// UnmarshalJSON accepts EventTime as a JSON number or a numeric string.
func (c *StateChangeCallback) UnmarshalJSON(b []byte) error {
	var w struct {
		CallbackCommand string         `json:"CallbackCommand"`
		EventTime       flexInt64      `json:"EventTime"`
		Info            StateInfo      `json:"Info"`
		KickedDevice    []KickedDevice `json:"KickedDevice"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*c = StateChangeCallback{CallbackCommand: w.CallbackCommand, EventTime: int64(w.EventTime), Info: w.Info, KickedDevice: w.KickedDevice}
	return nil
}

// DecodeStateChange decodes a State.StateChange body; Info.Action and Info.To_Account (a valid
// UserID) are required and EventTime lies in years 1970..9999 (*FieldError otherwise).
func DecodeStateChange(body []byte) (StateChangeCallback, error) {
	if !utf8.Valid(body) {
		return StateChangeCallback{}, fmt.Errorf("decode callback: %w", &FieldError{Field: "body", Problem: "not valid UTF-8"})
	}
	var cb StateChangeCallback
	if err := json.Unmarshal(body, &cb); err != nil {
		return StateChangeCallback{}, fmt.Errorf("decode state change callback: %w", jsonError(body, err))
	}
	if err := checkKeys(body); err != nil {
		return StateChangeCallback{}, fmt.Errorf("decode state change callback: %w", err)
	}
	switch {
	case cb.CallbackCommand != "" && cb.CallbackCommand != CmdStateChange:
		return StateChangeCallback{}, fmt.Errorf("decode state change callback: %w", errOtherCommand)
	case cb.Info.Action == "":
		return StateChangeCallback{}, fmt.Errorf("decode state change callback: %w", &FieldError{Field: "Info.Action", Problem: "required"})
	}
	if err := firstError(
		checkAccount("Info.To_Account", cb.Info.ToAccount, true),
		checkTime("EventTime", cb.EventTime, maxUnixMillis),
	); err != nil {
		return StateChangeCallback{}, fmt.Errorf("decode state change callback: %w", err)
	}
	return cb, nil
}

// MaxEventTimeSkew is how far ahead of the receiving clock a callback's EventTime may be. Clocks
// of Tencent's servers and ours differ by seconds; an event dated further ahead is not believed:
// the desk keeps each user's newest presence event, so one dated next year would hide every real
// login and logout of that user until then.
const MaxEventTimeSkew = 10 * time.Minute

// CheckNotAhead refuses an EventTime more than MaxEventTimeSkew after now, with a *FieldError
// naming EventTime (0, no EventTime, passes).
func (c StateChangeCallback) CheckNotAhead(now time.Time) error {
	if c.EventTime > now.Add(MaxEventTimeSkew).UnixMilli() {
		return fmt.Errorf("check state change callback: %w", &FieldError{Field: "EventTime",
			Problem: fmt.Sprintf("more than %s ahead of the receiving clock", MaxEventTimeSkew)})
	}
	return nil
}

// CheckNotAhead refuses a MsgTime more than MaxEventTimeSkew after now, with a *FieldError naming
// MsgTime (0, no MsgTime, passes). Tencent dates a message when it receives it and calls back at
// once, and the callback's RequestTime is within CallbackWindow of now, so a MsgTime far ahead is
// not Tencent's.
func (c C2CMsgCallback) CheckNotAhead(now time.Time) error {
	if c.MsgTime > now.Add(MaxEventTimeSkew).Unix() {
		return fmt.Errorf("check c2c callback: %w", &FieldError{Field: "MsgTime",
			Problem: fmt.Sprintf("more than %s ahead of the receiving clock", MaxEventTimeSkew)})
	}
	return nil
}

// GroupAtInfo is one @-mention of a group message.
type GroupAtInfo struct {
	GroupAtAllFlag int    `json:"GroupAtAllFlag"`
	GroupAtAccount string `json:"GroupAt_Account,omitempty"`
}

// GroupMsgCallback is the body of Group.CallbackAfterSendMsg (and Group.CallbackBeforeSendMsg).
// MsgSeq is the per-group message id; EventTime is Unix milliseconds (sent as a number or a
// string); OperatorAccount is who made the request (admin for REST sends).
type GroupMsgCallback struct {
	CallbackCommand string        `json:"CallbackCommand"`
	GroupId         string        `json:"GroupId"`
	Type            string        `json:"Type"`
	FromAccount     string        `json:"From_Account"`
	OperatorAccount string        `json:"Operator_Account"`
	Random          uint32        `json:"Random"`
	MsgSeq          uint64        `json:"MsgSeq"`
	MsgTime         int64         `json:"MsgTime"`
	MsgId           string        `json:"MsgId,omitempty"`
	OnlineOnlyFlag  int           `json:"OnlineOnlyFlag"`
	MsgBody         MsgBody       `json:"MsgBody"`
	CloudCustomData string        `json:"CloudCustomData"`
	TopicId         string        `json:"TopicId,omitempty"`
	EventTime       int64         `json:"EventTime,omitempty"`
	GroupAtInfo     []GroupAtInfo `json:"GroupAtInfo,omitempty"`
}

// UnmarshalJSON accepts numbers as JSON numbers or numeric strings.
func (c *GroupMsgCallback) UnmarshalJSON(b []byte) error {
	var w struct {
		CallbackCommand string     `json:"CallbackCommand"`
		GroupId         string     `json:"GroupId"`
		Type            string     `json:"Type"`
		FromAccount     string     `json:"From_Account"`
		OperatorAccount string     `json:"Operator_Account"`
		Random          flexUint32 `json:"Random"`
		MsgSeq          flexUint64 `json:"MsgSeq"`
		MsgTime         flexInt64  `json:"MsgTime"`
		MsgId           string     `json:"MsgId"`
		OnlineOnlyFlag  flexInt    `json:"OnlineOnlyFlag"`
		MsgBody         MsgBody    `json:"MsgBody"`
		CloudCustomData string     `json:"CloudCustomData"`
		TopicId         string     `json:"TopicId"`
		EventTime       flexInt64  `json:"EventTime"`
		GroupAtInfo     []struct {
			GroupAtAllFlag flexInt `json:"GroupAtAllFlag"`
			GroupAtAccount string  `json:"GroupAt_Account"`
		} `json:"GroupAtInfo"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*c = GroupMsgCallback{
		CallbackCommand: w.CallbackCommand, GroupId: w.GroupId, Type: w.Type, FromAccount: w.FromAccount,
		OperatorAccount: w.OperatorAccount, Random: uint32(w.Random), MsgSeq: uint64(w.MsgSeq),
		MsgTime: int64(w.MsgTime), MsgId: w.MsgId, OnlineOnlyFlag: int(w.OnlineOnlyFlag), MsgBody: w.MsgBody,
		CloudCustomData: w.CloudCustomData, TopicId: w.TopicId, EventTime: int64(w.EventTime),
	}
	for _, at := range w.GroupAtInfo {
		c.GroupAtInfo = append(c.GroupAtInfo, GroupAtInfo{GroupAtAllFlag: int(at.GroupAtAllFlag), GroupAtAccount: at.GroupAtAccount})
	}
	return nil
}

// DecodeGroupMsg decodes a Group before/after send-message callback body: GroupId (1–48 bytes)
// is required, From_Account, Operator_Account and the @-mentioned accounts are valid UserIDs
// when present, MsgTime and EventTime lie in years 1970..9999 (*FieldError otherwise).
func DecodeGroupMsg(body []byte) (GroupMsgCallback, error) {
	if !utf8.Valid(body) {
		return GroupMsgCallback{}, fmt.Errorf("decode callback: %w", &FieldError{Field: "body", Problem: "not valid UTF-8"})
	}
	var cb GroupMsgCallback
	if err := json.Unmarshal(body, &cb); err != nil {
		return GroupMsgCallback{}, fmt.Errorf("decode group callback: %w", jsonError(body, err))
	}
	if err := checkKeys(body); err != nil {
		return GroupMsgCallback{}, fmt.Errorf("decode group callback: %w", err)
	}
	switch {
	case cb.CallbackCommand != "" && cb.CallbackCommand != CmdGroupAfterSendMsg && cb.CallbackCommand != CmdGroupBeforeSendMsg:
		return GroupMsgCallback{}, fmt.Errorf("decode group callback: %w", errOtherCommand)
	case cb.GroupId == "":
		return GroupMsgCallback{}, fmt.Errorf("decode group callback: %w", &FieldError{Field: "GroupId", Problem: "required"})
	case len(cb.GroupId) > 48 || !utf8.ValidString(cb.GroupId) || strings.IndexFunc(cb.GroupId, unicode.IsControl) >= 0:
		return GroupMsgCallback{}, fmt.Errorf("decode group callback: %w", &FieldError{Field: "GroupId", Problem: "not 1-48 bytes of UTF-8 without control characters"})
	}
	checks := []error{
		checkAccount("From_Account", cb.FromAccount, false),
		checkAccount("Operator_Account", cb.OperatorAccount, false),
		checkTime("MsgTime", cb.MsgTime, maxUnixSeconds),
		checkTime("EventTime", cb.EventTime, maxUnixMillis),
		checkMsgBody(cb.MsgBody),
	}
	for i, at := range cb.GroupAtInfo {
		checks = append(checks, checkAccount(fmt.Sprintf("GroupAtInfo[%d].GroupAt_Account", i), at.GroupAtAccount, false))
	}
	if err := firstError(checks...); err != nil {
		return GroupMsgCallback{}, fmt.Errorf("decode group callback: %w", err)
	}
	return cb, nil
}

// CallbackResponse is the JSON answer to a callback. For before-send callbacks ErrorCode 0
// allows (optionally replacing MsgBody / CloudCustomData), 1 rejects (sender gets 20006), 2
// drops silently, 120001–130000 rejects passing code and info to the sender. After-callbacks
// only distinguish 0 (handled) and 1 (failed); Tencent ignores the answer.
type CallbackResponse struct {
	ActionStatus    string  `json:"ActionStatus"`
	ErrorCode       int     `json:"ErrorCode"`
	ErrorInfo       string  `json:"ErrorInfo"`
	MsgBody         MsgBody `json:",omitempty"`
	CloudCustomData string  `json:",omitempty"`
}

// Custom reject code range for before-send callbacks (passed through to the sending client).
const (
	MinCustomRejectCode = 120001
	MaxCustomRejectCode = 130000
)

// Allow lets the message through unchanged (also the "handled" answer to after-callbacks).
func Allow() CallbackResponse { return CallbackResponse{ActionStatus: "OK"} }

// AllowModified lets the message through with body replaced (if non-empty) and cloudCustomData
// replaced (if non-empty).
func AllowModified(body MsgBody, cloudCustomData string) CallbackResponse {
	return CallbackResponse{ActionStatus: "OK", MsgBody: body, CloudCustomData: cloudCustomData}
}

// Reject refuses the message; the sender gets error 20006 and no after-callback fires.
func Reject() CallbackResponse { return CallbackResponse{ActionStatus: "OK", ErrorCode: 1} }

// Drop discards the message silently: the sender is told it was sent, nobody receives it.
func Drop() CallbackResponse { return CallbackResponse{ActionStatus: "OK", ErrorCode: 2} }

// RejectWithCode refuses the message and passes code and info to the sender; code must be in
// 120001–130000 (ErrInvalidRequest otherwise).
func RejectWithCode(code int, info string) (CallbackResponse, error) {
	if code < MinCustomRejectCode || code > MaxCustomRejectCode {
		return CallbackResponse{}, fmt.Errorf("reject callback: %w: code %d outside %d–%d", ErrInvalidRequest, code, MinCustomRejectCode, MaxCustomRejectCode)
	}
	return CallbackResponse{ActionStatus: "OK", ErrorCode: code, ErrorInfo: info}, nil
}

// Fail answers an after-callback with "application error" (ErrorCode 1).
func Fail() CallbackResponse {
	return CallbackResponse{ActionStatus: "FAIL", ErrorCode: 1, ErrorInfo: "callback handling failed"}
}

// Flexible numbers: a JSON number, a string holding one, null or "" (→ 0).
type (
	flexInt64  int64
	flexInt    int
	flexUint32 uint32
	flexUint64 uint64
)

func (n *flexInt64) UnmarshalJSON(b []byte) error {
	v, err := parseFlexInt(b, math.MinInt64, math.MaxInt64)
	*n = flexInt64(v)
	if err != nil {
		return flexError(b, reflect.TypeFor[flexInt64]())
	}
	return nil
}

func (n *flexInt) UnmarshalJSON(b []byte) error {
	v, err := parseFlexInt(b, math.MinInt, math.MaxInt)
	*n = flexInt(v)
	if err != nil {
		return flexError(b, reflect.TypeFor[flexInt]())
	}
	return nil
}

func (n *flexUint32) UnmarshalJSON(b []byte) error {
	v, err := parseFlexInt(b, 0, math.MaxUint32)
	*n = flexUint32(v)
	if err != nil {
		return flexError(b, reflect.TypeFor[flexUint32]())
	}
	return nil
}

func (n *flexUint64) UnmarshalJSON(b []byte) error {
	text, err := flexText(b)
	if err != nil {
		return flexError(b, reflect.TypeFor[flexUint64]())
	}
	if text == "" {
		*n = 0
		return nil
	}
	v, err := strconv.ParseUint(text, 10, 64)
	if err != nil {
		return flexError(b, reflect.TypeFor[flexUint64]())
	}
	*n = flexUint64(v)
	return nil
}

// flexText returns the numeric text of a JSON number or string ("" for null or "").
func flexText(b []byte) (string, error) {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		return "", nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return "", err
		}
		return strings.TrimSpace(s), nil
	}
	return string(b), nil
}

func parseFlexInt(b []byte, lo, hi int64) (int64, error) {
	text, err := flexText(b)
	if err != nil || text == "" {
		return 0, err
	}
	v, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		// Allow integral floats such as 1.557481126e9.
		f, ferr := strconv.ParseFloat(text, 64)
		if ferr != nil || f != math.Trunc(f) || f < float64(lo) || f >= float64(hi)+1 || math.IsInf(f, 0) {
			return 0, fmt.Errorf("number %q: %w", truncate(text, 32), strconv.ErrSyntax)
		}
		v = int64(f)
	}
	if v < lo || v > hi {
		return 0, fmt.Errorf("number %q: %w", truncate(text, 32), strconv.ErrRange)
	}
	return v, nil
}

// flexError is a flexible number that did not decode, as a *json.UnmarshalTypeError so that
// encoding/json adds the field's name (jsonError reports it).
func flexError(b []byte, t reflect.Type) error {
	return &json.UnmarshalTypeError{Value: jsonKind(b), Type: t}
}

// jsonKind names the kind of a JSON value by its first byte (never the value itself).
func jsonKind(b []byte) string {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return "nothing"
	}
	switch b[0] {
	case '"':
		return "string"
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "bool"
	case 'n':
		return "null"
	}
	return "number"
}

// wantedKind says what a Go type accepts from JSON, for a FieldError.
func wantedKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Uint32:
		return "an integer 0-4294967295 (number or numeric string)"
	case reflect.Uint64, reflect.Uint:
		return "a non-negative integer (number or numeric string)"
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "an integer (number or numeric string)"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	}
	return "another type"
}

// errOtherCommand: the body's CallbackCommand names another callback than the decoder's (the
// query's, by which the API chose it).
var errOtherCommand = &FieldError{Field: "CallbackCommand", Problem: "another command than the query's"}

// jsonError turns a body that did not decode into an error wrapping ErrCallbackBody that names
// the problem: a *FieldError naming the field of a wrong-typed value ("MsgSeq", "Info.Action")
// and the kind it was, or the body itself (empty, not JSON, not an object). Values are never
// quoted.
func jsonError(body []byte, err error) error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case len(bytes.TrimSpace(body)) == 0:
		return &FieldError{Field: "body", Problem: "empty"}
	case errors.As(err, &te) && te.Field == "":
		return &FieldError{Field: "body", Problem: "not a JSON object (got " + firstWord(te.Value) + ")"}
	case errors.As(err, &te):
		return &FieldError{Field: te.Field, Problem: "not " + wantedKind(te.Type) + " (got " + firstWord(te.Value) + ")"}
	case errors.As(err, &se):
		return &FieldError{Field: "body", Problem: fmt.Sprintf("not valid JSON (at byte %d)", se.Offset)}
	}
	return fmt.Errorf("%w: %w", ErrCallbackBody, err)
}

// firstWord is encoding/json's kind word of an UnmarshalTypeError value ("number 1e400" → "number").
func firstWord(s string) string {
	w, _, _ := strings.Cut(s, " ")
	return w
}
