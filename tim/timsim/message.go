package timsim

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/timdesk/timdesk/tim"
)

// DedupeWindow is how long sendmsg remembers sender+MsgSeq+MsgRandom+MsgBody (Tencent: 120 s).
const DedupeWindow = 120 * time.Second

// maxMsgLifeTime is the longest offline storage Tencent allows, 7 days in seconds.
const maxMsgLifeTime = 604800

// maxBatchRecipients is the most To_Account entries batchsendmsg accepts.
const maxBatchRecipients = tim.MaxBatchRecipients

// knownMsgTypes are the MsgBody element types REST accepts.
var knownMsgTypes = []string{
	tim.MsgTypeText, tim.MsgTypeCustom, tim.MsgTypeLocation, tim.MsgTypeFace, tim.MsgTypeSound,
	tim.MsgTypeImage, tim.MsgTypeFile, tim.MsgTypeVideoFile,
}

// c2cSend is one one-to-one message on its way in.
type c2cSend struct {
	from, to     string
	seq, random  uint32
	body         tim.MsgBody
	cloud        string
	sync         int  // SyncOtherMachine
	onlineOnly   bool // MsgLifeTime 0
	noRoaming    bool // batchsendmsg with MsgLifeTime 0
	forbidBefore bool
	forbidAfter  bool
	platform, ip string
	client       bool // sent by a simulated client: the sender's devices show it
}

// sendResult is what the sender is told.
type sendResult struct {
	MsgTime   int64
	MsgKey    string
	MsgID     string
	MsgSeq    uint32
	MsgRandom uint32
	Code      int
	Info      string
	Delivered bool
	Duplicate bool
}

// dedupeEntry remembers one sendmsg for DedupeWindow; done is closed once res is known.
type dedupeEntry struct {
	at   time.Time
	done chan struct{}
	res  sendResult
	ok   bool
}

// sendC2C runs the before-send callback, stores and delivers the message, and queues the
// after-send callback, as Tencent does for client sends and REST sendmsg.
func (s *Server) sendC2C(ctx context.Context, in c2cSend) sendResult {
	now := s.now()
	m := &c2cMsg{
		From: in.from, To: in.to, MsgSeq: in.seq, MsgRandom: in.random, MsgTime: now.Unix(),
		Body: in.body, Cloud: in.cloud, hiddenFrom: in.sync == 2,
	}
	m.MsgKey = fmt.Sprintf("%d_%d_%d", m.MsgSeq, m.MsgRandom, m.MsgTime)
	m.MsgID = fmt.Sprintf("%d-%d-%d", tinyID(in.from), m.MsgTime, m.MsgRandom)
	res := sendResult{MsgTime: m.MsgTime, MsgKey: m.MsgKey, MsgID: m.MsgID, MsgSeq: m.MsgSeq, MsgRandom: m.MsgRandom}
	onlineFlag := 0
	if in.onlineOnly {
		onlineFlag = 1
	}
	if !in.forbidBefore {
		d := s.beforeSend(ctx, m, in.platform, in.ip, onlineFlag)
		if !d.deliver {
			res.Code, res.Info = d.code, d.info
			if d.code == 0 && in.client {
				s.echoDropped(m)
			}
			return res
		}
		m.Body, m.Cloud = d.body, d.cloud
	}
	unread := s.store(m, in)
	res.Delivered = true
	if !in.forbidAfter {
		s.afterSend(ctx, m, in.platform, in.ip, onlineFlag, unread)
	}
	return res
}

// store keeps m in the roaming history and the devices' timelines; it returns the recipient's
// unread count.
func (s *Server) store(m *c2cMsg, in c2cSend) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.order++
	m.order = s.order
	if !in.noRoaming {
		k := convKey(m.From, m.To)
		s.convs[k] = append(s.convs[k], m)
	}
	rcpt := s.accounts[m.To]
	if !in.onlineOnly || (rcpt != nil && rcpt.Online) {
		s.pushLocked(m.To, &event{Kind: "message", Message: deviceMessage(m, "in", m.Body, m.Cloud)})
	}
	switch {
	case in.client:
		// The sending device shows what it sent, even if the callback changed what was delivered.
		s.pushLocked(m.From, &event{Kind: "message", Message: deviceMessage(m, "out", in.body, in.cloud)})
	case in.sync == 1:
		s.pushLocked(m.From, &event{Kind: "message", Message: deviceMessage(m, "out", m.Body, m.Cloud)})
	}
	unread := 0
	for _, e := range s.timelineLocked(m.To).events {
		if e.Kind == "message" && e.Message.Direction == "in" && !e.Message.Recalled {
			unread++
		}
	}
	return unread
}

// deviceMessage is m as one device shows it.
func deviceMessage(m *c2cMsg, direction string, body tim.MsgBody, cloud string) *Message {
	return &Message{
		From: m.From, To: m.To, Direction: direction, MsgBody: body, Text: body.Text(), CloudCustomData: cloud,
		MsgKey: m.MsgKey, MsgSeq: m.MsgSeq, MsgRandom: m.MsgRandom, Time: m.MsgTime,
	}
}

// echoDropped shows a client's message on its own device after the before-send callback dropped
// it silently (the client was told it was sent); nobody else receives it.
func (s *Server) echoDropped(m *c2cMsg) {
	s.mu.Lock()
	defer s.mu.Unlock()
	msg := deviceMessage(m, "out", m.Body, m.Cloud)
	msg.Dropped = true
	s.pushLocked(m.From, &event{Kind: "message", Message: msg})
}

// tinyID is a stable numeric id for a UserID, the first part of a MsgId.
func tinyID(userID string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(userID))
	return 144115200000000000 + h.Sum64()%100000000000
}

// c2cFields are the validated common fields of sendmsg and batchsendmsg.
type c2cFields struct {
	from      string
	seq       uint32
	random    uint32
	body      tim.MsgBody
	bodyRaw   []byte // compact JSON of MsgBody (dedupe key)
	cloud     string
	sync      int
	lifeTime  int64
	lifeGiven bool
}

// parseC2CFields validates the fields sendmsg and batchsendmsg share, with Tencent's codes.
func parseC2CFields(m map[string]json.RawMessage) (c2cFields, *apiError) {
	var f c2cFields
	if v, present, ok := fieldString(m, "From_Account"); present {
		if !ok {
			return f, apiErr(90001, "Fail to Parse json data of body: From_Account must be a string")
		}
		f.from = v
	}
	r, present, ok := fieldInt(m, "MsgRandom", 0, 1<<32-1)
	if !present || !ok {
		return f, apiErr(90005, "MsgRandom is missing or not an unsigned 32-bit integer")
	}
	f.random = uint32(r)
	if sq, present, ok := fieldInt(m, "MsgSeq", 0, 1<<32-1); present {
		if !ok {
			return f, apiErr(90004, "MsgSeq is not an unsigned 32-bit integer")
		}
		f.seq = uint32(sq)
	} else {
		f.seq = rand.Uint32()
	}
	if so, present, ok := fieldInt(m, "SyncOtherMachine", 0, 2); present {
		if !ok {
			return f, apiErr(90031, "SyncOtherMachine must be 1 or 2")
		}
		f.sync = int(so)
	}
	if lt, present, ok := fieldInt(m, "MsgLifeTime", -1<<31, 1<<31-1); present {
		if !ok {
			return f, apiErr(90044, "MsgLifeTime is not an integer")
		}
		if lt < 0 || lt > maxMsgLifeTime {
			return f, apiErr(90026, "MsgLifeTime must be within 0..604800 seconds")
		}
		f.lifeTime, f.lifeGiven = lt, true
	}
	if v, present, ok := fieldString(m, "CloudCustomData"); present {
		if !ok {
			return f, apiErr(90001, "Fail to Parse json data of body: CloudCustomData must be a string")
		}
		f.cloud = v
	}
	body, raw, aerr := parseMsgBody(m["MsgBody"])
	if aerr != nil {
		return f, aerr
	}
	f.body, f.bodyRaw = body, raw
	if len(raw)+len(f.cloud) > maxMsgSize {
		return f, apiErr(93000, "message too large: MsgBody and CloudCustomData exceed 12 KB")
	}
	return f, nil
}

// parseMsgBody validates a MsgBody array: known MsgType, object MsgContent, string Text.
func parseMsgBody(raw json.RawMessage) (tim.MsgBody, []byte, *apiError) {
	if len(raw) == 0 {
		return nil, nil, apiErr(90007, "MsgBody is missing: it must be an array")
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(raw, &elems); err != nil || elems == nil {
		return nil, nil, apiErr(90007, "MsgBody must be an array")
	}
	if len(elems) == 0 {
		return nil, nil, apiErr(90002, "MsgBody is empty")
	}
	customs := 0
	for i, e := range elems {
		var el struct {
			MsgType    *string                    `json:"MsgType"`
			MsgContent map[string]json.RawMessage `json:"MsgContent"`
		}
		if err := json.Unmarshal(e, &el); err != nil || el.MsgType == nil || el.MsgContent == nil {
			return nil, nil, apiErr(90002, "MsgBody[%d] must be an object with MsgType and MsgContent", i)
		}
		if !slices.Contains(knownMsgTypes, *el.MsgType) {
			return nil, nil, apiErr(90002, "MsgBody[%d]: unknown MsgType", i)
		}
		switch *el.MsgType {
		case tim.MsgTypeText:
			if _, present, ok := fieldString(el.MsgContent, "Text"); !present || !ok {
				return nil, nil, apiErr(90002, "MsgBody[%d]: TIMTextElem needs a string Text", i)
			}
		case tim.MsgTypeCustom:
			customs++
			if customs > 1 {
				return nil, nil, apiErr(90002, "MsgBody may hold only one TIMCustomElem")
			}
		}
	}
	var body tim.MsgBody
	if err := json.Unmarshal(raw, &body); err != nil {
		return nil, nil, apiErr(90002, "MsgBody is malformed")
	}
	compact, err := json.Marshal(body)
	if err != nil {
		return nil, nil, apiErr(90002, "MsgBody is malformed")
	}
	return body, compact, nil
}

// restSendMsg is POST /v4/openim/sendmsg.
func (s *Server) restSendMsg(c *restCall) (any, *apiError) {
	m, aerr := c.jsonObject()
	if aerr != nil {
		return nil, aerr
	}
	to, present, ok := fieldString(m, "To_Account")
	if !present || !ok || to == "" {
		return nil, apiErr(90003, "To_Account is missing or not a string")
	}
	f, aerr := parseC2CFields(m)
	if aerr != nil {
		return nil, aerr
	}
	var req tim.SendMsgRequest
	if aerr := c.decode(&req); aerr != nil {
		return nil, aerr
	}
	forbidBefore := slices.Contains(req.ForbidCallbackControl, tim.ForbidBeforeSendMsgCallback)
	forbidAfter := slices.Contains(req.ForbidCallbackControl, tim.ForbidAfterSendMsgCallback)
	from := f.from
	if from == "" {
		from = s.opts.Admin
	}
	if !s.Imported(from) {
		return nil, apiErr(20003, "From_Account %s is not imported", from)
	}
	if !s.Imported(to) {
		return nil, apiErr(90012, "To_Account %s is not imported", to)
	}
	in := c2cSend{
		from: from, to: to, seq: f.seq, random: f.random, body: f.body, cloud: f.cloud, sync: f.sync,
		onlineOnly: f.lifeGiven && f.lifeTime == 0, forbidBefore: forbidBefore, forbidAfter: forbidAfter,
		platform: PlatformREST, ip: c.clientIP,
	}
	key := fmt.Sprintf("%s\x00%d\x00%d\x00%08x", from, f.seq, f.random, crc32.ChecksumIEEE(f.bodyRaw))
	res := s.dedupeSend(c.ctx, key, func() sendResult { return s.sendC2C(c.ctx, in) })
	switch {
	case res.Duplicate:
		s.note("rest", fmt.Sprintf("sendmsg %s→%s: duplicate within %s, not delivered again (MsgKey %s)", from, to, DedupeWindow, res.MsgKey), nil)
	case res.Code != 0:
		s.note("rest", fmt.Sprintf("sendmsg %s→%s: ErrorCode %d", from, to, res.Code), nil)
	default:
		s.note("rest", fmt.Sprintf("sendmsg %s→%s: OK (MsgKey %s)", from, to, res.MsgKey), nil)
	}
	if res.Code != 0 {
		return nil, &apiError{Code: res.Code, Info: res.Info}
	}
	return tim.SendMsgResponse{MsgTime: res.MsgTime, MsgKey: res.MsgKey, MsgId: res.MsgID}, nil
}

// dedupeSend runs send unless the same key succeeded within DedupeWindow; concurrent duplicates
// wait for the first. Failed sends are forgotten so a retry runs again.
func (s *Server) dedupeSend(ctx context.Context, key string, send func() sendResult) sendResult {
	for {
		s.mu.Lock()
		now := s.now()
		e := s.dedupe[key]
		if e != nil {
			select {
			case <-e.done:
				if e.ok && now.Sub(e.at) <= DedupeWindow {
					res := e.res
					s.mu.Unlock()
					res.Duplicate = true
					return res
				}
				delete(s.dedupe, key)
			default:
				s.mu.Unlock()
				select {
				case <-e.done:
					continue
				case <-ctx.Done():
					return sendResult{Code: 20004, Info: "request cancelled while an identical message was being sent"}
				}
			}
		}
		s.pruneDedupeLocked(now)
		e = &dedupeEntry{at: now, done: make(chan struct{})}
		s.dedupe[key] = e
		s.mu.Unlock()

		res := send()
		s.mu.Lock()
		e.res, e.ok = res, res.Code == 0
		if !e.ok {
			delete(s.dedupe, key)
		}
		close(e.done)
		s.mu.Unlock()
		return res
	}
}

func (s *Server) pruneDedupeLocked(now time.Time) {
	if len(s.dedupe) < 256 {
		return
	}
	for k, e := range s.dedupe {
		select {
		case <-e.done:
			if now.Sub(e.at) > DedupeWindow {
				delete(s.dedupe, k)
			}
		default:
		}
	}
}

// restBatchSendMsg is POST /v4/openim/batchsendmsg: no callbacks, per-recipient ErrorList (70107).
func (s *Server) restBatchSendMsg(c *restCall) (any, *apiError) {
	m, aerr := c.jsonObject()
	if aerr != nil {
		return nil, aerr
	}
	var to []string
	if raw, ok := m["To_Account"]; !ok || json.Unmarshal(raw, &to) != nil || len(to) == 0 {
		return nil, apiErr(90003, "To_Account must be a non-empty array of strings")
	}
	if len(to) > maxBatchRecipients {
		return nil, apiErr(90011, "To_Account has %d entries: at most 500", len(to))
	}
	f, aerr := parseC2CFields(m)
	if aerr != nil {
		return nil, aerr
	}
	var req tim.BatchSendMsgRequest
	if aerr := c.decode(&req); aerr != nil {
		return nil, aerr
	}
	from := f.from
	if from == "" {
		from = s.opts.Admin
	}
	if !s.Imported(from) {
		return nil, apiErr(90008, "From_Account %s does not exist", from)
	}
	onlineOnly := f.lifeGiven && f.lifeTime == 0
	res := sendResult{MsgTime: s.now().Unix()}
	res.MsgKey = fmt.Sprintf("%d_%d_%d", f.seq, f.random, res.MsgTime)
	var failed []tim.AccountError
	seen := map[string]bool{}
	sent := 0
	for _, rcpt := range req.ToAccount {
		if seen[rcpt] {
			continue
		}
		seen[rcpt] = true
		if !s.Imported(rcpt) {
			failed = append(failed, tim.AccountError{ToAccount: rcpt, ErrorCode: 70107})
			continue
		}
		in := c2cSend{
			from: from, to: rcpt, seq: f.seq, random: f.random, body: f.body, cloud: f.cloud, sync: f.sync,
			onlineOnly: onlineOnly, noRoaming: onlineOnly, forbidBefore: true, forbidAfter: true,
			platform: PlatformREST, ip: c.clientIP,
		}
		s.sendC2C(c.ctx, in)
		sent++
	}
	s.note("rest", fmt.Sprintf("batchsendmsg from %s to %d recipients: %d delivered, %d failed", from, len(seen), sent, len(failed)), nil)
	if sent == 0 {
		return nil, &apiError{Code: 90012, Info: "no recipient is imported", Extra: map[string]any{"ErrorList": failed}}
	}
	return tim.BatchSendMsgResponse{MsgKey: res.MsgKey, ErrorList: failed}, nil
}

// maxRoamCnt is the most messages one admin_getroammsg page returns.
const maxRoamCnt = 100

// restGetRoamMsg is POST /v4/openim/admin_getroammsg: the conversation of Operator_Account with
// Peer_Account as the operator sees it, newest page first. Each page lists its messages oldest
// first; LastMsgTime/LastMsgKey name the oldest one. Continue with MaxTime=LastMsgTime and
// LastMsgKey=LastMsgKey until Complete is 1.
func (s *Server) restGetRoamMsg(c *restCall) (any, *apiError) {
	m, aerr := c.jsonObject()
	if aerr != nil {
		return nil, aerr
	}
	op, _, ok := fieldString(m, "Operator_Account")
	if !ok || op == "" {
		op, _, ok = fieldString(m, "From_Account") // older docs
	}
	peer, _, ok2 := fieldString(m, "Peer_Account")
	if !ok2 || peer == "" {
		peer, _, ok2 = fieldString(m, "To_Account")
	}
	if !ok || !ok2 || op == "" || peer == "" {
		return nil, apiErr(90003, "Operator_Account and Peer_Account are required strings")
	}
	maxCnt := int64(maxRoamCnt)
	if v, present, ok := fieldInt(m, "MaxCnt", 1, 1<<31-1); present {
		if !ok {
			return nil, apiErr(90001, "Fail to Parse json data of body: MaxCnt must be a positive integer")
		}
		maxCnt = min(v, maxRoamCnt)
	}
	minTime, maxTime := int64(0), int64(1<<62)
	if v, present, ok := fieldInt(m, "MinTime", 0, 1<<62); present {
		if !ok {
			return nil, apiErr(90001, "Fail to Parse json data of body: MinTime must be Unix seconds")
		}
		minTime = v
	}
	if v, present, ok := fieldInt(m, "MaxTime", 0, 1<<62); present {
		if !ok {
			return nil, apiErr(90001, "Fail to Parse json data of body: MaxTime must be Unix seconds")
		}
		maxTime = v
	}
	lastKey, _, _ := fieldString(m, "LastMsgKey")

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.accounts[op] == nil || s.accounts[peer] == nil {
		return nil, apiErr(90008, "Operator_Account or Peer_Account does not exist")
	}
	var cands []*c2cMsg
	for _, msg := range s.roamingLocked(op, peer) {
		if msg.MsgTime >= minTime && msg.MsgTime <= maxTime {
			cands = append(cands, msg)
		}
	}
	if lastKey != "" {
		for i := len(cands) - 1; i >= 0; i-- {
			if cands[i].MsgKey == lastKey {
				cands = cands[:i]
				break
			}
		}
	}
	page := cands
	if int64(len(page)) > maxCnt {
		page = page[int64(len(page))-maxCnt:]
	}
	resp := tim.AdminGetRoamMsgResponse{Complete: 1, MsgCnt: len(page), MsgList: []tim.RoamMsg{}}
	if len(page) < len(cands) {
		resp.Complete = 0
	}
	if len(page) > 0 {
		resp.LastMsgTime, resp.LastMsgKey = page[0].MsgTime, page[0].MsgKey
	}
	for _, msg := range page {
		flags := 0
		if msg.recalled {
			flags = 8
		}
		resp.MsgList = append(resp.MsgList, tim.RoamMsg{
			FromAccount: msg.From, ToAccount: msg.To, MsgSeq: msg.MsgSeq, MsgRandom: msg.MsgRandom,
			MsgTimeStamp: msg.MsgTime, MsgFlagBits: flags, MsgKey: msg.MsgKey,
			MsgBody: msg.Body, CloudCustomData: msg.Cloud,
		})
	}
	return resp, nil
}

// restMsgWithdraw is POST /v4/openim/admin_msgwithdraw: recall one message by From, To and MsgKey.
func (s *Server) restMsgWithdraw(c *restCall) (any, *apiError) {
	m, aerr := c.jsonObject()
	if aerr != nil {
		return nil, aerr
	}
	from, _, ok1 := fieldString(m, "From_Account")
	to, _, ok2 := fieldString(m, "To_Account")
	if !ok1 || !ok2 || from == "" || to == "" {
		return nil, apiErr(90003, "From_Account and To_Account are required strings")
	}
	key, _, ok := fieldString(m, "MsgKey")
	if !ok || strings.Count(key, "_") != 2 {
		return nil, apiErr(90054, "MsgKey is invalid")
	}
	if aerr := s.recall(from, to, key); aerr != nil {
		return nil, aerr
	}
	s.note("rest", fmt.Sprintf("admin_msgwithdraw %s→%s: recalled %s", from, to, key), nil)
	return struct{}{}, nil
}

// recall marks one message recalled in the roaming history and on both sides' devices.
func (s *Server) recall(from, to, key string) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.accounts[from] == nil || s.accounts[to] == nil {
		return apiErr(90008, "From_Account or To_Account does not exist")
	}
	var target *c2cMsg
	for _, msg := range s.convs[convKey(from, to)] {
		if msg.From == from && msg.To == to && msg.MsgKey == key {
			target = msg
		}
	}
	if target == nil {
		return apiErr(20022, "the message to recall does not exist")
	}
	if target.recalled {
		return apiErr(20023, "the message was already recalled")
	}
	target.recalled = true
	for _, user := range []string{from, to} {
		for _, e := range s.timelineLocked(user).events {
			if e.Kind == "message" && e.Message.MsgKey == key && e.Message.From == from && e.Message.To == to {
				e.Message.Recalled = true
			}
		}
		s.pushLocked(user, &event{Kind: "recall", MsgKey: key})
		if from == to {
			break
		}
	}
	return nil
}
