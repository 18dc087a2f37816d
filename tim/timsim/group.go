package timsim

import (
	"fmt"
	"hash/crc32"
	"slices"
	"time"

	"github.com/timdesk/timdesk/tim"
)

// groupDedupeWindow is how long send_group_msg remembers sender+Random+content (Tencent: 5 min).
const groupDedupeWindow = 5 * time.Minute

// group is a basic group: members and a per-group message sequence.
type group struct {
	ID      string
	Type    string
	Name    string
	Owner   string
	Members []string
	seq     uint64
	recent  map[string]groupSent // dedupe key → first send
}

type groupSent struct {
	at      time.Time
	msgSeq  uint64
	msgTime int64
}

// CreateGroup creates a basic group (Type "Public", "Private", "Work", "ChatRoom", ...) with the
// given members, importing none of them; it fails if the id exists.
func (s *Server) CreateGroup(id, typ string, members ...string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.groups[id] != nil {
		return fmt.Errorf("create group %s: already exists", id)
	}
	if typ == "" {
		typ = "Public"
	}
	s.groups[id] = &group{ID: id, Type: typ, Members: slices.Clone(members), recent: map[string]groupSent{}}
	return nil
}

// createGroupRequest is the body of v4/group_open_http_svc/create_group (the fields the emulator uses).
type createGroupRequest struct {
	OwnerAccount string `json:"Owner_Account"`
	Type         string `json:"Type"`
	GroupID      string `json:"GroupId"`
	Name         string `json:"Name"`
	MemberList   []struct {
		MemberAccount string `json:"Member_Account"`
	} `json:"MemberList"`
}

// restCreateGroup is POST /v4/group_open_http_svc/create_group (basic: owner, type, name, id,
// members). Members must be imported (10004 otherwise); an existing GroupId is 10021.
func (s *Server) restCreateGroup(c *restCall) (any, *apiError) {
	var req createGroupRequest
	if aerr := c.decode(&req); aerr != nil {
		return nil, aerr
	}
	if req.Type == "" || req.Name == "" {
		return nil, apiErr(10004, "invalid parameter: Type and Name are required")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if req.GroupID == "" {
		req.GroupID = fmt.Sprintf("@TGS#%d", len(s.groups)+1)
	}
	if s.groups[req.GroupID] != nil {
		return nil, apiErr(10021, "GroupId %s is already in use", req.GroupID)
	}
	g := &group{ID: req.GroupID, Type: req.Type, Name: req.Name, Owner: req.OwnerAccount, recent: map[string]groupSent{}}
	if req.OwnerAccount != "" {
		if s.accounts[req.OwnerAccount] == nil {
			return nil, apiErr(10004, "Owner_Account %s is not imported", req.OwnerAccount)
		}
		g.Members = append(g.Members, req.OwnerAccount)
	}
	for _, m := range req.MemberList {
		if s.accounts[m.MemberAccount] == nil {
			return nil, apiErr(10004, "Member_Account %s is not imported", m.MemberAccount)
		}
		if !slices.Contains(g.Members, m.MemberAccount) {
			g.Members = append(g.Members, m.MemberAccount)
		}
	}
	s.groups[g.ID] = g
	return map[string]string{"GroupId": g.ID}, nil
}

// restSendGroupMsg is POST /v4/group_open_http_svc/send_group_msg: stored with a per-group MsgSeq,
// delivered to every member but the sender, Group.CallbackAfterSendMsg unless forbidden. The same
// sender, Random and MsgBody within 5 minutes is answered with the first send's MsgSeq and not
// delivered again.
func (s *Server) restSendGroupMsg(c *restCall) (any, *apiError) {
	m, aerr := c.jsonObject()
	if aerr != nil {
		return nil, aerr
	}
	if gid, present, ok := fieldString(m, "GroupId"); !present || !ok || gid == "" {
		return nil, apiErr(10004, "invalid parameter: GroupId is required")
	}
	if _, present, ok := fieldInt(m, "Random", 0, 1<<32-1); !present || !ok {
		return nil, apiErr(10004, "invalid parameter: Random must be an unsigned 32-bit integer")
	}
	body, bodyRaw, aerr := parseMsgBody(m["MsgBody"])
	if aerr != nil {
		return nil, apiErr(10004, "invalid parameter: %s", aerr.Info)
	}
	var req tim.SendGroupMsgRequest
	if aerr := c.decode(&req); aerr != nil {
		return nil, aerr
	}
	if len(bodyRaw)+len(req.CloudCustomData) > maxMsgSize {
		return nil, apiErr(80002, "message too long: MsgBody and CloudCustomData exceed 12 KB")
	}
	from := req.FromAccount
	if from == "" {
		from = s.opts.Admin
	}
	now := s.now()
	s.mu.Lock()
	g := s.groups[req.GroupId]
	if g == nil {
		s.mu.Unlock()
		return nil, apiErr(10010, "group %s does not exist", req.GroupId)
	}
	if s.accounts[from] == nil {
		s.mu.Unlock()
		return nil, apiErr(10004, "From_Account %s is not imported", from)
	}
	if from != s.opts.Admin && !slices.Contains(g.Members, from) {
		s.mu.Unlock()
		return nil, apiErr(10007, "From_Account %s is not a member of %s", from, req.GroupId)
	}
	key := fmt.Sprintf("%s\x00%d\x00%08x", from, req.Random, crc32.ChecksumIEEE(bodyRaw))
	for k, prev := range g.recent {
		if now.Sub(prev.at) > groupDedupeWindow {
			delete(g.recent, k)
		}
	}
	if prev, ok := g.recent[key]; ok {
		s.mu.Unlock()
		s.note("rest", fmt.Sprintf("send_group_msg %s in %s: duplicate Random within 5 min, not delivered again", from, g.ID), nil)
		return tim.SendGroupMsgResponse{MsgTime: prev.msgTime, MsgSeq: prev.msgSeq}, nil
	}
	g.seq++
	sent := groupSent{at: now, msgSeq: g.seq, msgTime: now.Unix()}
	g.recent[key] = sent
	text := body.Text()
	msgKey := fmt.Sprintf("%d_%d_%d", sent.msgSeq, req.Random, sent.msgTime)
	for _, member := range g.Members {
		if member == from {
			continue
		}
		if req.OnlineOnlyFlag == 1 {
			if a := s.accounts[member]; a == nil || !a.Online {
				continue
			}
		}
		s.pushLocked(member, &event{Kind: "message", Message: &Message{
			From: from, To: member, GroupID: g.ID, Direction: "in", MsgBody: body, Text: text,
			CloudCustomData: req.CloudCustomData, MsgKey: msgKey, MsgRandom: req.Random, Time: sent.msgTime,
		}})
	}
	groupType := g.Type
	s.mu.Unlock()

	s.note("rest", fmt.Sprintf("send_group_msg %s in %s: OK (MsgSeq %d)", from, req.GroupId, sent.msgSeq), nil)
	if !slices.Contains(req.ForbidCallbackControl, tim.ForbidAfterSendMsgCallback) {
		s.groupAfterSend(c.ctx, tim.GroupMsgCallback{
			CallbackCommand: tim.CmdGroupAfterSendMsg, GroupId: req.GroupId, Type: groupType,
			FromAccount: from, OperatorAccount: s.opts.Admin, Random: req.Random, MsgSeq: sent.msgSeq,
			MsgTime: sent.msgTime, MsgId: fmt.Sprintf("%d-%d-%d", tinyID(from), sent.msgTime, req.Random),
			OnlineOnlyFlag: req.OnlineOnlyFlag, MsgBody: body, CloudCustomData: req.CloudCustomData,
			EventTime: now.UnixMilli(),
		}, PlatformREST, c.clientIP)
	}
	return tim.SendGroupMsgResponse{MsgTime: sent.msgTime, MsgSeq: sent.msgSeq}, nil
}
