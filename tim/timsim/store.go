package timsim

import (
	"sort"
	"time"

	"github.com/timdesk/timdesk/tim"
)

// account is one imported UserID and its simulated presence.
type account struct {
	UserID   string
	Nick     string
	FaceURL  string
	Online   bool
	Platform string
}

// c2cMsg is one stored one-to-one message (the roaming history of a conversation).
type c2cMsg struct {
	From, To   string
	MsgSeq     uint32
	MsgRandom  uint32
	MsgTime    int64
	MsgKey     string
	MsgID      string
	Body       tim.MsgBody
	Cloud      string
	order      uint64
	hiddenFrom bool // SyncOtherMachine 2: not in the sender's roaming
	recalled   bool
}

// Message is one message as a simulated client sees it (GET /sim/messages, /sim/events).
type Message struct {
	// Seq orders the events of one user's device; pass the last one seen as since=.
	Seq  uint64 `json:"seq"`
	From string `json:"from"`
	To   string `json:"to"`
	// GroupID is set for group messages (To is then the receiving member).
	GroupID string `json:"groupID,omitempty"`
	// Direction is "in" for a received message and "out" for the user's own message synced to
	// their devices (client sends, and REST sendmsg with SyncOtherMachine 1).
	Direction       string      `json:"direction"`
	MsgBody         tim.MsgBody `json:"msgBody"`
	Text            string      `json:"text"`
	CloudCustomData string      `json:"cloudCustomData"`
	MsgKey          string      `json:"msgKey"`
	MsgSeq          uint32      `json:"msgSeq"`
	MsgRandom       uint32      `json:"msgRandom"`
	// Time is the server time of the message, Unix seconds.
	Time     int64 `json:"time"`
	Recalled bool  `json:"recalled,omitempty"`
	// Dropped marks the sender's own copy of a message the before-send callback dropped silently
	// (ErrorCode 2): the client was told it was sent, the recipient never got it.
	Dropped bool `json:"dropped,omitempty"`
}

// event is one entry of a user's device stream.
type event struct {
	Seq     uint64
	Kind    string // "message", "recall", "state"
	Message *Message
	MsgKey  string
	State   string
}

// timeline is what one user's devices receive, in order.
type timeline struct {
	events  []*event
	seq     uint64
	changed chan struct{}
}

func (s *Server) timelineLocked(userID string) *timeline {
	tl := s.timelines[userID]
	if tl == nil {
		tl = &timeline{changed: make(chan struct{})}
		s.timelines[userID] = tl
	}
	return tl
}

// pushLocked appends e to userID's timeline and wakes its waiters.
func (s *Server) pushLocked(userID string, e *event) {
	tl := s.timelineLocked(userID)
	tl.seq++
	e.Seq = tl.seq
	if e.Message != nil {
		e.Message.Seq = tl.seq
	}
	tl.events = append(tl.events, e)
	close(tl.changed)
	tl.changed = make(chan struct{})
	s.changedLocked()
}

// changedLocked wakes everything waiting on s.anyChanged.
func (s *Server) changedLocked() {
	close(s.anyChanged)
	s.anyChanged = make(chan struct{})
}

// messagesLocked returns copies of userID's messages after since and the highest seq seen.
func (s *Server) messagesLocked(userID string, since uint64, direction string) ([]Message, uint64) {
	tl := s.timelineLocked(userID)
	out := []Message{}
	next := since
	for _, e := range tl.events {
		if e.Seq <= since {
			continue
		}
		next = e.Seq
		if e.Kind != "message" || (direction != "" && e.Message.Direction != direction) {
			continue
		}
		out = append(out, *e.Message)
	}
	return out, next
}

// Messages returns every message userID's devices received so far (both directions), oldest first.
func (s *Server) Messages(userID string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	msgs, _ := s.messagesLocked(userID, 0, "")
	return msgs
}

func (s *Server) importLocked(userID string) *account {
	a := s.accounts[userID]
	if a == nil {
		a = &account{UserID: userID}
		s.accounts[userID] = a
		s.accountsChangedLocked()
	}
	return a
}

// accountsChangedLocked records that an account was imported or deleted or went on- or offline.
func (s *Server) accountsChangedLocked() {
	s.accountsVer++
	s.changedLocked()
}

// usersLocked lists every account and its presence, sorted by UserID.
func (s *Server) usersLocked() []simUser {
	users := make([]simUser, 0, len(s.accounts))
	for _, a := range s.accounts {
		users = append(users, simUser{UserID: a.UserID, Online: a.Online, Platform: a.Platform})
	}
	sort.Slice(users, func(i, j int) bool { return users[i].UserID < users[j].UserID })
	return users
}

// ImportAccount imports userIDs as account_import would (idempotent). Invalid ids are reported.
func (s *Server) ImportAccount(userIDs ...string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range userIDs {
		if err := tim.ValidateUserID(id); err != nil {
			return err
		}
		s.importLocked(id)
	}
	return nil
}

// Imported reports whether userID is an imported account.
func (s *Server) Imported(userID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accounts[userID] != nil
}

// Online reports whether userID is logged in through the simulated-client API.
func (s *Server) Online(userID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.accounts[userID]
	return a != nil && a.Online
}

func convKey(a, b string) string {
	if a > b {
		a, b = b, a
	}
	return a + "\x00" + b
}

// roamingLocked returns the messages between operator and peer visible to operator, oldest first.
func (s *Server) roamingLocked(operator, peer string) []*c2cMsg {
	var out []*c2cMsg
	for _, m := range s.convs[convKey(operator, peer)] {
		if m.hiddenFrom && m.From == operator {
			continue
		}
		out = append(out, m)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].MsgTime != out[j].MsgTime {
			return out[i].MsgTime < out[j].MsgTime
		}
		return out[i].order < out[j].order
	})
	return out
}

// activityEntry is one line of the emulator's activity feed (GET /sim/activity), shown on the page.
type activityEntry struct {
	Seq    uint64 `json:"seq"`
	Time   string `json:"time"`
	Kind   string `json:"kind"` // "callback", "rest", "state", "fault"
	Text   string `json:"text"`
	Detail any    `json:"detail,omitempty"`
}

// activityFeed keeps the last activityLimit entries.
type activityFeed struct {
	entries []activityEntry
	seq     uint64
	changed chan struct{}
}

const activityLimit = 500

// note records an activity entry.
func (s *Server) note(kind, text string, detail any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := &s.feed
	f.seq++
	f.entries = append(f.entries, activityEntry{Seq: f.seq, Time: s.now().Format(time.TimeOnly), Kind: kind, Text: text, Detail: detail})
	if len(f.entries) > activityLimit {
		f.entries = f.entries[len(f.entries)-activityLimit:]
	}
	close(f.changed)
	f.changed = make(chan struct{})
	s.changedLocked()
}
