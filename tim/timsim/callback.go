package timsim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/timdesk/timdesk/tim"
)

// Tencent's OptPlatform values the emulator uses.
const (
	PlatformREST = "RESTAPI"
	PlatformWeb  = "Web"
)

// maxCallbackAnswer bounds how much of a callback answer is read.
const maxCallbackAnswer = 1 << 20

// callbackReply is a callback's JSON answer. CloudCustomData is a pointer so that an explicit ""
// (clear it) differs from an absent field (keep it).
type callbackReply struct {
	ActionStatus    string      `json:"ActionStatus"`
	ErrorCode       int         `json:"ErrorCode"`
	ErrorInfo       string      `json:"ErrorInfo"`
	MsgBody         tim.MsgBody `json:"MsgBody"`
	CloudCustomData *string     `json:"CloudCustomData"`
}

// callbackOutcome is what happened to one callback POST.
type callbackOutcome struct {
	ok      bool // HTTP 200 with a JSON body
	reply   callbackReply
	err     error
	elapsed time.Duration
}

// c2cCallbackBody is the body of C2C.CallbackBeforeSendMsg and C2C.CallbackAfterSendMsg.
type c2cCallbackBody struct {
	CallbackCommand string      `json:"CallbackCommand"`
	FromAccount     string      `json:"From_Account"`
	ToAccount       string      `json:"To_Account"`
	MsgSeq          uint32      `json:"MsgSeq"`
	MsgRandom       uint32      `json:"MsgRandom"`
	MsgTime         int64       `json:"MsgTime"`
	MsgKey          string      `json:"MsgKey"`
	MsgID           string      `json:"MsgId"`
	OnlineOnlyFlag  int         `json:"OnlineOnlyFlag"`
	MsgBody         tim.MsgBody `json:"MsgBody"`
	CloudCustomData string      `json:"CloudCustomData"`
	EventTime       int64       `json:"EventTime"`
	// After-send only.
	SendMsgResult *int    `json:"SendMsgResult,omitempty"`
	ErrorInfo     *string `json:"ErrorInfo,omitempty"`
	UnreadMsgNum  *int    `json:"UnreadMsgNum,omitempty"`
}

// callbackURL builds the callback URL with Tencent's query: SdkAppid, CallbackCommand,
// contenttype, ClientIP, OptPlatform, and RequestTime + Sign when a token is configured.
func (s *Server) callbackURL(command, platform, ip string) (string, error) {
	u, err := url.Parse(s.opts.CallbackURL)
	if err != nil {
		return "", fmt.Errorf("parse callback URL: %w", err)
	}
	q := u.Query()
	q.Set("SdkAppid", strconv.FormatUint(s.opts.SDKAppID, 10))
	q.Set("CallbackCommand", command)
	q.Set("contenttype", "json")
	q.Set("ClientIP", ip)
	q.Set("OptPlatform", platform)
	if s.opts.CallbackToken != "" {
		rt := s.now().Unix()
		q.Set("RequestTime", strconv.FormatInt(rt, 10))
		q.Set("Sign", tim.CallbackSign(s.opts.CallbackToken, rt))
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// postCallback POSTs one callback and reads its answer within the callback timeout.
func (s *Server) postCallback(ctx context.Context, command, platform, ip string, body any) callbackOutcome {
	start := time.Now()
	out := s.doCallback(ctx, command, platform, ip, body)
	out.elapsed = time.Since(start)
	if out.err != nil {
		s.log.Warn("callback failed", "command", command, "error", out.err, "elapsed", out.elapsed)
	}
	return out
}

func (s *Server) doCallback(ctx context.Context, command, platform, ip string, body any) callbackOutcome {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.CallbackTimeout)
	defer cancel()
	target, err := s.callbackURL(command, platform, ip)
	if err != nil {
		return callbackOutcome{err: err}
	}
	b, err := json.Marshal(body)
	if err != nil {
		return callbackOutcome{err: fmt.Errorf("encode callback: %w", err)}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(b))
	if err != nil {
		return callbackOutcome{err: fmt.Errorf("build callback request: %w", err)}
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.http.Do(req)
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return callbackOutcome{err: fmt.Errorf("callback timed out after %s", s.opts.CallbackTimeout)}
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL carries Sign: keep it out of logs
		}
		return callbackOutcome{err: fmt.Errorf("post callback: %w", err)}
	}
	defer func() { _ = resp.Body.Close() }()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxCallbackAnswer))
	if err != nil {
		return callbackOutcome{err: fmt.Errorf("read callback answer: %w", err)}
	}
	if resp.StatusCode != http.StatusOK {
		return callbackOutcome{err: fmt.Errorf("callback answered HTTP %d", resp.StatusCode)}
	}
	var reply callbackReply
	if err := json.Unmarshal(answer, &reply); err != nil {
		return callbackOutcome{err: fmt.Errorf("callback answer is not JSON: %w", err)}
	}
	return callbackOutcome{ok: true, reply: reply}
}

// beforeDecision is the effect of C2C.CallbackBeforeSendMsg on a message.
type beforeDecision struct {
	deliver bool   // store and deliver the message
	code    int    // error code for the sender (0: success)
	info    string // error info for the sender
	body    tim.MsgBody
	cloud   string
}

// beforeSend runs C2C.CallbackBeforeSendMsg for m and decides its fate:
// 0 allow (optionally with a new MsgBody / CloudCustomData), 1 reject (20006), 2 drop silently
// (success for the sender, nothing delivered), 120001..130000 reject with that code and info.
// A failed callback (timeout, transport, HTTP status, non-JSON, any other code) follows the policy:
// fail-open delivers unchanged, fail-closed answers 80003.
func (s *Server) beforeSend(ctx context.Context, m *c2cMsg, platform, ip string, onlineOnly int) beforeDecision {
	d := beforeDecision{deliver: true, body: m.Body, cloud: m.Cloud}
	if s.opts.CallbackURL == "" {
		return d
	}
	body := c2cCallbackBody{
		CallbackCommand: tim.CmdC2CBeforeSendMsg,
		FromAccount:     m.From, ToAccount: m.To,
		MsgSeq: m.MsgSeq, MsgRandom: m.MsgRandom, MsgTime: m.MsgTime, MsgKey: m.MsgKey, MsgID: m.MsgID,
		OnlineOnlyFlag: onlineOnly, MsgBody: m.Body, CloudCustomData: m.Cloud,
		EventTime: s.now().UnixMilli(),
	}
	out := s.postCallback(ctx, tim.CmdC2CBeforeSendMsg, platform, ip, body)
	what := fmt.Sprintf("%s %s→%s", tim.CmdC2CBeforeSendMsg, m.From, m.To)
	if !out.ok {
		return s.beforeFailed(d, what, out.err.Error(), out.elapsed)
	}
	r := out.reply
	switch {
	case r.ErrorCode == 0:
		effect := "allow"
		if len(r.MsgBody) > 0 {
			d.body = r.MsgBody
			effect = "allow with a modified MsgBody"
		}
		if r.CloudCustomData != nil {
			d.cloud = *r.CloudCustomData
			if effect == "allow" {
				effect = "allow with modified CloudCustomData"
			}
		}
		s.note("callback", fmt.Sprintf("%s: ErrorCode 0 (%s) in %s", what, effect, ms(out.elapsed)), body)
	case r.ErrorCode == 1:
		d.deliver, d.code, d.info = false, 20006, "message rejected by the before-send callback"
		s.note("callback", fmt.Sprintf("%s: ErrorCode 1 (reject: sender gets 20006) in %s", what, ms(out.elapsed)), body)
	case r.ErrorCode == 2:
		d.deliver = false
		s.note("callback", fmt.Sprintf("%s: ErrorCode 2 (silently dropped: sender told success) in %s", what, ms(out.elapsed)), body)
	case r.ErrorCode >= 120001 && r.ErrorCode <= 130000:
		d.deliver, d.code, d.info = false, r.ErrorCode, r.ErrorInfo
		s.note("callback", fmt.Sprintf("%s: ErrorCode %d (custom reject passed to the sender) in %s", what, r.ErrorCode, ms(out.elapsed)), body)
	default:
		return s.beforeFailed(d, what, fmt.Sprintf("unsupported ErrorCode %d", r.ErrorCode), out.elapsed)
	}
	return d
}

// beforeFailed applies the fail-open / fail-closed policy.
func (s *Server) beforeFailed(d beforeDecision, what, reason string, elapsed time.Duration) beforeDecision {
	s.mu.Lock()
	closed := s.failClosed
	s.mu.Unlock()
	if closed {
		s.note("callback", fmt.Sprintf("%s: failed (%s) after %s → fail-closed: sender gets 80003", what, reason, ms(elapsed)), nil)
		return beforeDecision{code: 80003, info: "the before-send callback failed and the app is set not to deliver in that case"}
	}
	s.note("callback", fmt.Sprintf("%s: failed (%s) after %s → fail-open: delivered unchanged", what, reason, ms(elapsed)), nil)
	return d
}

// afterSend queues C2C.CallbackAfterSendMsg for a delivered message.
func (s *Server) afterSend(ctx context.Context, m *c2cMsg, platform, ip string, onlineOnly, unread int) {
	if s.opts.CallbackURL == "" {
		return
	}
	result, info := 0, "send msg succeed"
	body := c2cCallbackBody{
		CallbackCommand: tim.CmdC2CAfterSendMsg,
		FromAccount:     m.From, ToAccount: m.To,
		MsgSeq: m.MsgSeq, MsgRandom: m.MsgRandom, MsgTime: m.MsgTime, MsgKey: m.MsgKey, MsgID: m.MsgID,
		OnlineOnlyFlag: onlineOnly, MsgBody: m.Body, CloudCustomData: m.Cloud,
		EventTime:     s.now().UnixMilli(),
		SendMsgResult: &result, ErrorInfo: &info, UnreadMsgNum: &unread,
	}
	ctx = context.WithoutCancel(ctx) // delivered after the sender got its answer
	s.async.push(func() {
		out := s.postCallback(ctx, tim.CmdC2CAfterSendMsg, platform, ip, body)
		s.noteNotification(fmt.Sprintf("%s %s→%s", tim.CmdC2CAfterSendMsg, m.From, m.To), out, body)
	})
}

// stateChange sends State.StateChange for userID and returns once it was answered or failed.
func (s *Server) stateChange(ctx context.Context, userID, action, reason, platform, ip string) {
	if s.opts.CallbackURL == "" {
		return
	}
	body := tim.StateChangeCallback{
		CallbackCommand: tim.CmdStateChange,
		EventTime:       s.now().UnixMilli(),
		Info:            tim.StateInfo{Action: action, ToAccount: userID, Reason: reason},
	}
	done := make(chan struct{})
	cbCtx := context.WithoutCancel(ctx) // sent even if the caller stops waiting
	s.async.push(func() {
		defer close(done)
		out := s.postCallback(cbCtx, tim.CmdStateChange, platform, ip, body)
		s.noteNotification(fmt.Sprintf("%s %s %s/%s", tim.CmdStateChange, userID, action, reason), out, body)
	})
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// groupAfterSend queues Group.CallbackAfterSendMsg.
func (s *Server) groupAfterSend(ctx context.Context, body tim.GroupMsgCallback, platform, ip string) {
	if s.opts.CallbackURL == "" {
		return
	}
	ctx = context.WithoutCancel(ctx)
	s.async.push(func() {
		out := s.postCallback(ctx, tim.CmdGroupAfterSendMsg, platform, ip, body)
		s.noteNotification(fmt.Sprintf("%s %s in %s", tim.CmdGroupAfterSendMsg, body.FromAccount, body.GroupId), out, body)
	})
}

func (s *Server) noteNotification(what string, out callbackOutcome, body any) {
	if out.ok {
		s.note("callback", fmt.Sprintf("%s: answered ErrorCode %d in %s", what, out.reply.ErrorCode, ms(out.elapsed)), body)
		return
	}
	s.note("callback", fmt.Sprintf("%s: failed (%s) after %s", what, out.err, ms(out.elapsed)), body)
}

func ms(d time.Duration) string { return d.Round(time.Millisecond).String() }
