package timsim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"github.com/timdesk/timdesk/tim"
)

// maxSimBody bounds the body of a /sim/ request.
const maxSimBody = 256 << 10

// maxWait is the longest long-poll of GET /sim/messages.
const maxWait = 60 * time.Second

// loopbackIP is the ClientIP of callbacks caused through the Go API.
const loopbackIP = "127.0.0.1"

// ErrNotImported is returned by the Go client API for an account that does not exist.
var ErrNotImported = errors.New("account not imported")

// SendRequest is a message sent as a simulated client (POST /sim/send, Server.Send): either Text
// or MsgBody.
type SendRequest struct {
	From            string      `json:"from"`
	To              string      `json:"to"`
	Text            string      `json:"text,omitempty"`
	MsgBody         tim.MsgBody `json:"msgBody,omitempty"`
	CloudCustomData string      `json:"cloudCustomData,omitempty"`
}

// SendResult is what the sending client is told. ErrorCode 0 also covers a message silently
// dropped by the before-send callback (code 2), exactly as a real client sees it.
type SendResult struct {
	ErrorCode int    `json:"errorCode"`
	ErrorInfo string `json:"errorInfo"`
	MsgKey    string `json:"msgKey,omitempty"`
	// MsgTime is Unix seconds.
	MsgTime   int64  `json:"msgTime,omitempty"`
	MsgSeq    uint32 `json:"msgSeq,omitempty"`
	MsgRandom uint32 `json:"msgRandom,omitempty"`
}

// Login logs userID in as a simulated client on platform (default "Web"), importing the account
// as a real SDK login does, and sends State.StateChange Login/Register. It returns once the
// callback was answered (or failed, or ctx ended).
func (s *Server) Login(ctx context.Context, userID, platform string) error {
	return s.login(ctx, userID, platform, loopbackIP)
}

func (s *Server) login(ctx context.Context, userID, platform, ip string) error {
	if err := tim.ValidateUserID(userID); err != nil {
		return fmt.Errorf("login: %w", err)
	}
	if platform == "" {
		platform = PlatformWeb
	}
	s.mu.Lock()
	a := s.importLocked(userID)
	a.Online, a.Platform = true, platform
	s.accountsChangedLocked()
	s.pushLocked(userID, &event{Kind: "state", State: tim.StateLogin})
	s.mu.Unlock()
	s.note("state", fmt.Sprintf("%s logged in (%s)", userID, platform), nil)
	s.stateChange(ctx, userID, tim.StateLogin, tim.ReasonRegister, platform, ip)
	return nil
}

// Logout logs userID out (State.StateChange Logout/Unregister when it was online).
func (s *Server) Logout(ctx context.Context, userID string) error {
	return s.goOffline(ctx, userID, tim.StateLogout, tim.ReasonUnregister, loopbackIP)
}

// Disconnect drops userID's connection (State.StateChange Disconnect/LinkClose when it was online).
func (s *Server) Disconnect(ctx context.Context, userID string) error {
	return s.goOffline(ctx, userID, tim.StateDisconnect, tim.ReasonLinkClose, loopbackIP)
}

func (s *Server) goOffline(ctx context.Context, userID, action, reason, ip string) error {
	s.mu.Lock()
	a := s.accounts[userID]
	if a == nil {
		s.mu.Unlock()
		return fmt.Errorf("%s %s: %w", action, userID, ErrNotImported)
	}
	was, platform := a.Online, a.Platform
	a.Online = false
	if was {
		s.accountsChangedLocked()
		s.pushLocked(userID, &event{Kind: "state", State: action})
	}
	s.mu.Unlock()
	if !was {
		return nil
	}
	s.note("state", fmt.Sprintf("%s: %s (%s)", userID, action, reason), nil)
	s.stateChange(ctx, userID, action, reason, platform, ip)
	return nil
}

// Send sends a C2C message as a simulated client: the before-send callback decides, the message
// is stored and delivered (also to the sender's devices), the after-send callback follows.
func (s *Server) Send(ctx context.Context, req SendRequest) SendResult {
	return s.send(ctx, req, loopbackIP)
}

func (s *Server) send(ctx context.Context, req SendRequest, ip string) SendResult {
	if tim.ValidateUserID(req.From) != nil || tim.ValidateUserID(req.To) != nil {
		return SendResult{ErrorCode: 20003, ErrorInfo: "invalid UserID: from and to must be 1..32 bytes"}
	}
	body := req.MsgBody
	if len(body) == 0 {
		if req.Text == "" {
			return SendResult{ErrorCode: 90002, ErrorInfo: "empty message: give text or msgBody"}
		}
		body = tim.MsgBody{tim.TextElem(req.Text)}
	}
	raw, err := json.Marshal(body)
	if err != nil {
		return SendResult{ErrorCode: 90002, ErrorInfo: "msgBody is malformed"}
	}
	body, raw, aerr := parseMsgBody(raw)
	if aerr != nil {
		return SendResult{ErrorCode: aerr.Code, ErrorInfo: aerr.Info}
	}
	if len(raw)+len(req.CloudCustomData) > maxMsgSize {
		return SendResult{ErrorCode: 80002, ErrorInfo: "message too long: more than 12 KB"}
	}
	s.mu.Lock()
	sender := s.importLocked(req.From) // a client that can send has logged in, so it exists
	platform := sender.Platform
	if platform == "" {
		platform = PlatformWeb
	}
	rcptOK := s.accounts[req.To] != nil
	s.clientSeq[req.From]++
	seq := s.clientSeq[req.From]
	s.mu.Unlock()
	if !rcptOK {
		return SendResult{ErrorCode: 20003, ErrorInfo: fmt.Sprintf("To_Account %s is not imported", req.To)}
	}
	res := s.sendC2C(ctx, c2cSend{
		from: req.From, to: req.To, seq: seq, random: rand.Uint32(), body: body, cloud: req.CloudCustomData,
		platform: platform, ip: ip, client: true,
	})
	out := SendResult{ErrorCode: res.Code, ErrorInfo: res.Info, MsgKey: res.MsgKey, MsgTime: res.MsgTime, MsgSeq: res.MsgSeq, MsgRandom: res.MsgRandom}
	switch {
	case res.Code != 0:
		s.note("send", fmt.Sprintf("%s→%s: failed with %d %s", req.From, req.To, res.Code, res.Info), nil)
	case !res.Delivered:
		s.note("send", fmt.Sprintf("%s→%s: told success, dropped by the callback", req.From, req.To), nil)
	default:
		s.note("send", fmt.Sprintf("%s→%s: delivered (MsgKey %s)", req.From, req.To, res.MsgKey), nil)
	}
	return out
}

// simUserRequest is the body of /sim/login, /sim/logout, /sim/disconnect and /sim/import.
type simUserRequest struct {
	UserID   string `json:"userID"`
	Platform string `json:"platform,omitempty"`
	// UserSig, when given to /sim/login, is verified as the real SDK login would (70001 expired,
	// 70003 malformed, 70009 wrong key, 70013 other user, 70014 other app).
	UserSig string `json:"userSig,omitempty"`
}

// simStatus is the answer of the /sim/ user commands.
type simStatus struct {
	UserID    string `json:"userID"`
	Online    bool   `json:"online"`
	ErrorCode int    `json:"errorCode"`
	ErrorInfo string `json:"errorInfo"`
}

func decodeSimBody(r *http.Request, v any) error {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxSimBody+1))
	if err != nil {
		return fmt.Errorf("read body: %w", err)
	}
	if len(b) > maxSimBody {
		return errors.New("body too large")
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("body is not the expected JSON: %s", jsonErrorField(err))
	}
	return nil
}

func writeSimError(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, map[string]string{"error": err.Error()})
}

func (s *Server) decodeUser(w http.ResponseWriter, r *http.Request) (simUserRequest, bool) {
	var req simUserRequest
	if err := decodeSimBody(r, &req); err != nil {
		writeSimError(w, http.StatusBadRequest, err)
		return req, false
	}
	if err := tim.ValidateUserID(req.UserID); err != nil {
		writeSimError(w, http.StatusBadRequest, fmt.Errorf("userID: %w", err))
		return req, false
	}
	return req, true
}

// handleSimLogin is POST /sim/login {"userID","platform"?,"userSig"?}.
func (s *Server) handleSimLogin(w http.ResponseWriter, r *http.Request) {
	req, ok := s.decodeUser(w, r)
	if !ok {
		return
	}
	if req.UserSig != "" {
		if err := s.signer.Verify(req.UserID, req.UserSig, s.now()); err != nil {
			aerr := sigError(err)
			writeJSON(w, http.StatusOK, simStatus{UserID: req.UserID, ErrorCode: aerr.Code, ErrorInfo: aerr.Info})
			return
		}
	}
	if err := s.login(r.Context(), req.UserID, req.Platform, clientIP(r)); err != nil {
		writeSimError(w, http.StatusBadRequest, err)
		return
	}
	writeJSON(w, http.StatusOK, simStatus{UserID: req.UserID, Online: true})
}

// handleSimLogout is POST /sim/logout {"userID"}.
func (s *Server) handleSimLogout(w http.ResponseWriter, r *http.Request) {
	s.handleOffline(w, r, tim.StateLogout, tim.ReasonUnregister)
}

// handleSimDisconnect is POST /sim/disconnect {"userID"}.
func (s *Server) handleSimDisconnect(w http.ResponseWriter, r *http.Request) {
	s.handleOffline(w, r, tim.StateDisconnect, tim.ReasonLinkClose)
}

func (s *Server) handleOffline(w http.ResponseWriter, r *http.Request, action, reason string) {
	req, ok := s.decodeUser(w, r)
	if !ok {
		return
	}
	if err := s.goOffline(r.Context(), req.UserID, action, reason, clientIP(r)); err != nil {
		writeJSON(w, http.StatusOK, simStatus{UserID: req.UserID, ErrorCode: 70107, ErrorInfo: "account not imported"})
		return
	}
	writeJSON(w, http.StatusOK, simStatus{UserID: req.UserID})
}

// handleSimImport is POST /sim/import {"userID"}: import without logging in.
func (s *Server) handleSimImport(w http.ResponseWriter, r *http.Request) {
	req, ok := s.decodeUser(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	online := s.importLocked(req.UserID).Online
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, simStatus{UserID: req.UserID, Online: online})
}

// handleSimSend is POST /sim/send {"from","to","text"} or {"from","to","msgBody":[...]}
// (+ "cloudCustomData") → {"errorCode","errorInfo","msgKey","msgTime","msgSeq","msgRandom"}.
func (s *Server) handleSimSend(w http.ResponseWriter, r *http.Request) {
	var req SendRequest
	if err := decodeSimBody(r, &req); err != nil {
		writeSimError(w, http.StatusBadRequest, err)
		return
	}
	writeJSON(w, http.StatusOK, s.send(r.Context(), req, clientIP(r)))
}

// messagesAnswer is the answer of GET /sim/messages.
type messagesAnswer struct {
	Messages []Message `json:"messages"`
	Next     uint64    `json:"next"`
}

// handleSimMessages is GET /sim/messages?userID=u&since=<seq>&wait=<seconds>&direction=in|out:
// the user's messages after since (both directions unless filtered), waiting up to wait seconds
// (at most 60) for one to arrive. "next" is the since= of the following poll.
func (s *Server) handleSimMessages(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	userID := q.Get("userID")
	if tim.ValidateUserID(userID) != nil {
		writeSimError(w, http.StatusBadRequest, errors.New("userID is required"))
		return
	}
	since, err := parseSince(q.Get("since"))
	if err != nil {
		writeSimError(w, http.StatusBadRequest, err)
		return
	}
	var wait time.Duration
	if v := q.Get("wait"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 {
			writeSimError(w, http.StatusBadRequest, errors.New("wait must be seconds >= 0"))
			return
		}
		wait = min(time.Duration(f*float64(time.Second)), maxWait)
	}
	direction := q.Get("direction")
	if direction != "" && direction != "in" && direction != "out" {
		writeSimError(w, http.StatusBadRequest, errors.New("direction must be in or out"))
		return
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		s.mu.Lock()
		msgs, next := s.messagesLocked(userID, since, direction)
		changed := s.timelineLocked(userID).changed
		s.mu.Unlock()
		if len(msgs) > 0 || wait == 0 {
			writeJSON(w, http.StatusOK, messagesAnswer{Messages: msgs, Next: next})
			return
		}
		select {
		case <-changed:
		case <-timer.C:
			wait = 0
		case <-r.Context().Done():
			return
		case <-s.done:
			wait = 0
		}
	}
}

func parseSince(v string) (uint64, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, errors.New("since must be a message seq (an unsigned integer)")
	}
	return n, nil
}

// simUser is one account in GET /sim/state.
type simUser struct {
	UserID   string `json:"userID"`
	Online   bool   `json:"online"`
	Platform string `json:"platform,omitempty"`
}

// simState is the answer of GET /sim/state.
type simState struct {
	SDKAppID    uint64   `json:"sdkAppID"`
	Admin       string   `json:"admin"`
	CallbackURL string   `json:"callbackURL"`
	Signed      bool     `json:"signedCallbacks"`
	FailClosed  bool     `json:"failClosed"`
	Windows     []Window `json:"windows"`
	// ServiceAccount is the app's service account; the page marks its messages.
	ServiceAccount string    `json:"serviceAccount"`
	Users          []simUser `json:"users"`
	BootID         string    `json:"bootID"`
}

// handleSimState is GET /sim/state: configuration (without secrets), accounts and presence.
func (s *Server) handleSimState(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	st := simState{
		SDKAppID: s.opts.SDKAppID, Admin: s.opts.Admin, CallbackURL: s.opts.CallbackURL,
		Signed: s.opts.CallbackToken != "", FailClosed: s.failClosed, Windows: s.opts.Windows,
		ServiceAccount: s.opts.ServiceAccount, Users: s.usersLocked(), BootID: s.bootID,
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, st)
}

// handleSetPolicy is POST /sim/policy {"failClosed": bool}: the before-send failure policy.
func (s *Server) handleSetPolicy(w http.ResponseWriter, r *http.Request) {
	var req struct {
		FailClosed *bool `json:"failClosed"`
	}
	if err := decodeSimBody(r, &req); err != nil || req.FailClosed == nil {
		writeSimError(w, http.StatusBadRequest, errors.New(`want {"failClosed": true|false}`))
		return
	}
	s.SetFailClosed(*req.FailClosed)
	policy := "fail-open"
	if *req.FailClosed {
		policy = "fail-closed"
	}
	s.note("fault", "before-send failure policy: "+policy, nil)
	writeJSON(w, http.StatusOK, map[string]bool{"failClosed": *req.FailClosed})
}
