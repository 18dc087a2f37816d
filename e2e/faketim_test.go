package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/timdesk/timdesk/tim"
)

// tencentDedupeWindow is how long Tencent drops a sendmsg repeating sender, recipient, MsgSeq,
// MsgRandom and MsgBody (TENCENT_IM.md): such a repeat is not delivered twice.
const tencentDedupeWindow = 120 * time.Second

// fakeTencent is the Tencent IM REST API for the load tests: it accepts every call, records every
// sendmsg and delivers it (to onDeliver) unless Tencent would drop it as a repeat. It keeps the
// roaming history admin_getroammsg answers from, so the worker's late-retry lookup works.
type fakeTencent struct {
	srv *httptest.Server

	mu        sync.Mutex
	calls     map[string]int // REST calls by command
	sends     int            // sendmsg calls
	repeats   int            // sendmsg calls Tencent dropped as repeats within its window
	firstSent map[sendKey]time.Time
	history   []tim.RoamMsg // every delivered message, oldest first
	onDeliver func(to, from, text string, at time.Time)
}

type sendKey struct {
	from, to string
	seq, rnd uint32
	body     string
}

func newFakeTencent(tb testing.TB) *fakeTencent {
	f := &fakeTencent{calls: map[string]int{}, firstSent: map[sendKey]time.Time{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	tb.Cleanup(f.srv.Close)
	return f
}

// URL is the base URL for TIMDESK_TIM_BASE_URL.
func (f *fakeTencent) URL() string { return f.srv.URL }

// setOnDeliver sets the function told about every delivered message (nil: none).
func (f *fakeTencent) setOnDeliver(fn func(to, from, text string, at time.Time)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.onDeliver = fn
}

// counts returns the sendmsg calls and the repeats Tencent would have dropped.
func (f *fakeTencent) counts() (sends, repeats int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.sends, f.repeats
}

func (f *fakeTencent) serve(w http.ResponseWriter, r *http.Request) {
	command := strings.TrimPrefix(r.URL.Path, "/")
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil || r.Method != http.MethodPost {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.calls[command]++
	f.mu.Unlock()
	var out any
	switch command {
	case tim.CommandSendMsg:
		var req tim.SendMsgRequest
		if err := json.Unmarshal(body, &req); err != nil {
			out = tim.ErrorEnvelope(90001, "json parse error")
			break
		}
		out = f.sendMsg(req)
	case tim.CommandAdminGetRoamMsg:
		var req tim.AdminGetRoamMsgRequest
		if err := json.Unmarshal(body, &req); err != nil {
			out = tim.ErrorEnvelope(90001, "json parse error")
			break
		}
		out = f.roamMsgs(req)
	case tim.CommandMultiAccountImport:
		out = struct {
			tim.Envelope
			FailAccounts []string
		}{Envelope: tim.OKEnvelope(), FailAccounts: []string{}}
	default:
		out = tim.OKEnvelope()
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

func (f *fakeTencent) sendMsg(req tim.SendMsgRequest) any {
	now := time.Now()
	bodyJSON, _ := json.Marshal(req.MsgBody)
	key := sendKey{from: req.FromAccount, to: req.ToAccount, seq: req.MsgSeq, rnd: req.MsgRandom, body: string(bodyJSON)}
	msgKey := fmt.Sprintf("%d_%d_%d", req.MsgSeq, req.MsgRandom, now.Unix())
	resp := tim.SendMsgResponse{Envelope: tim.OKEnvelope(), MsgTime: now.Unix(), MsgKey: msgKey}

	f.mu.Lock()
	f.sends++
	if first, ok := f.firstSent[key]; ok && now.Sub(first) < tencentDedupeWindow {
		f.repeats++
		f.mu.Unlock()
		return resp
	}
	f.firstSent[key] = now
	f.history = append(f.history, tim.RoamMsg{
		FromAccount: req.FromAccount, ToAccount: req.ToAccount, MsgSeq: req.MsgSeq, MsgRandom: req.MsgRandom,
		MsgTimeStamp: now.Unix(), MsgKey: msgKey, MsgBody: req.MsgBody,
	})
	deliver := f.onDeliver
	f.mu.Unlock()
	if deliver != nil {
		deliver(req.ToAccount, req.FromAccount, req.MsgBody.Text(), now)
	}
	return resp
}

// roamMsgs answers admin_getroammsg in one page: the messages between the two accounts in the
// time range.
func (f *fakeTencent) roamMsgs(req tim.AdminGetRoamMsgRequest) tim.AdminGetRoamMsgResponse {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := tim.AdminGetRoamMsgResponse{Envelope: tim.OKEnvelope(), Complete: 1, MsgList: []tim.RoamMsg{}}
	for _, m := range f.history {
		between := (m.FromAccount == req.OperatorAccount && m.ToAccount == req.PeerAccount) ||
			(m.FromAccount == req.PeerAccount && m.ToAccount == req.OperatorAccount)
		if between && m.MsgTimeStamp >= req.MinTime && (req.MaxTime == 0 || m.MsgTimeStamp <= req.MaxTime) {
			out.MsgList = append(out.MsgList, m)
		}
	}
	out.MsgCnt = len(out.MsgList)
	return out
}
