package timsim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/timdesk/timdesk/tim"
)

// defaultPresenceGrace is how long a closed presence stream waits for a reconnect (a page
// reload) before the user is disconnected.
const defaultPresenceGrace = 3 * time.Second

// sseHeartbeat is how often an idle event stream gets a comment line.
const sseHeartbeat = 15 * time.Second

// sseStream prepares w for server-sent events.
func sseStream(w http.ResponseWriter) (http.Flusher, bool) {
	f, ok := w.(http.Flusher)
	if !ok {
		writeSimError(w, http.StatusInternalServerError, errors.New("streaming unsupported"))
		return nil, false
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, "retry: 2000\n\n")
	f.Flush()
	return f, true
}

func writeSSE(w io.Writer, id uint64, name string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if id == 0 {
		_, err = fmt.Fprintf(w, "event: %s\ndata: %s\n\n", name, b)
		return err
	}
	_, err = fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", id, name, b)
	return err
}

// handleSimEvents is GET /sim/events?userID=u&since=<seq>[&presence=1] (server-sent events).
// Events: "message" (data: a Message), "recall" ({"msgKey"}), "state" ({"userID","action","online"}),
// each with id = the user's seq (Last-Event-ID resumes). With presence=1 the stream stands for
// the user's connection: when the last such stream closes and no new one opens within 3 s, the
// user is disconnected (State.StateChange Disconnect/LinkClose), as a closed browser tab is.
func (s *Server) handleSimEvents(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	userID := q.Get("userID")
	if tim.ValidateUserID(userID) != nil {
		writeSimError(w, http.StatusBadRequest, errors.New("userID is required"))
		return
	}
	sinceArg := q.Get("since")
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		sinceArg = id
	}
	last, err := parseSince(sinceArg)
	if err != nil {
		writeSimError(w, http.StatusBadRequest, err)
		return
	}
	if q.Get("presence") == "1" {
		// Counted before the headers go out, so a client that sees the stream open can rely on
		// it counting; the deferred close also runs when the stream fails to start.
		s.presenceOpen(userID)
		defer s.presenceClose(r.Context(), userID, clientIP(r))
	}
	flusher, ok := sseStream(w)
	if !ok {
		return
	}
	s.serveSSE(w, r, flusher, func() (<-chan struct{}, bool, error) {
		s.mu.Lock()
		tl := s.timelineLocked(userID)
		var pending []event
		for _, e := range tl.events {
			if e.Seq > last {
				cp := *e
				if cp.Message != nil {
					m := *cp.Message
					cp.Message = &m
				}
				pending = append(pending, cp)
			}
		}
		changed := tl.changed
		s.mu.Unlock()
		for _, e := range pending {
			var err error
			switch e.Kind {
			case "message":
				err = writeSSE(w, e.Seq, "message", e.Message)
			case "recall":
				err = writeSSE(w, e.Seq, "recall", map[string]string{"msgKey": e.MsgKey})
			case "state":
				err = writeSSE(w, e.Seq, "state", map[string]any{"userID": userID, "action": e.State, "online": e.State == tim.StateLogin})
			}
			if err != nil {
				return nil, false, err
			}
			last = e.Seq
		}
		return changed, len(pending) > 0, nil
	})
}

func (s *Server) presenceOpen(userID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.presence == nil {
		s.presence = map[string]int{}
	}
	s.presence[userID]++
}

// presenceClose disconnects userID if no presence stream reopens within presenceGrace.
func (s *Server) presenceClose(ctx context.Context, userID, ip string) {
	ctx = context.WithoutCancel(ctx) // runs after the stream's request ended
	s.mu.Lock()
	s.presence[userID]--
	s.mu.Unlock()
	go func() {
		select {
		case <-time.After(s.presenceGrace):
		case <-s.done:
			return
		}
		s.mu.Lock()
		n := s.presence[userID]
		s.mu.Unlock()
		if n <= 0 {
			_ = s.goOffline(ctx, userID, tim.StateDisconnect, tim.ReasonLinkClose, ip)
		}
	}()
}

// handleSimActivity is GET /sim/activity?since=<seq> (server-sent events "activity"): callbacks
// fired and their answers, REST calls, logins, faults — the log panel of the page.
func (s *Server) handleSimActivity(w http.ResponseWriter, r *http.Request) {
	last, err := parseSince(r.URL.Query().Get("since"))
	if err != nil {
		writeSimError(w, http.StatusBadRequest, err)
		return
	}
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		if n, err := strconv.ParseUint(id, 10, 64); err == nil {
			last = n
		}
	}
	flusher, ok := sseStream(w)
	if !ok {
		return
	}
	s.serveSSE(w, r, flusher, func() (<-chan struct{}, bool, error) {
		s.mu.Lock()
		var pending []activityEntry
		for _, e := range s.feed.entries {
			if e.Seq > last {
				pending = append(pending, e)
			}
		}
		changed := s.feed.changed
		s.mu.Unlock()
		for _, e := range pending {
			if err := writeSSE(w, e.Seq, "activity", e); err != nil {
				return nil, false, err
			}
			last = e.Seq
		}
		return changed, len(pending) > 0, nil
	})
}

// streamEvent is one event of GET /sim/stream for user.
type streamEvent struct {
	User    string   `json:"user"`
	Message *Message `json:"message,omitempty"`
	MsgKey  string   `json:"msgKey,omitempty"`
	Action  string   `json:"action,omitempty"`
	Online  bool     `json:"online"`
}

// accountsEvent is the "accounts" event of GET /sim/stream: every account and its presence.
type accountsEvent struct {
	Users []simUser `json:"users"`
}

// handleSimStream is GET /sim/stream?users=a,b[&presence=1][&activitySince=<seq>] (server-sent
// events): the devices of several users and the activity feed on one connection, for the page
// (browsers allow only a few connections per host). Events "message" ({"user","message"}),
// "recall" ({"user","msgKey"}), "state" ({"user","action","online"}) replay from the start;
// "activity" entries follow activitySince; "accounts" ({"users":[{"userID","online","platform"}]})
// is every account with its presence, sent first and again whenever an account is imported or
// deleted or anyone logs in or out. presence=1 works as on /sim/events, for every user.
func (s *Server) handleSimStream(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var users []string
	for _, u := range splitComma(q.Get("users")) {
		if tim.ValidateUserID(u) != nil {
			writeSimError(w, http.StatusBadRequest, fmt.Errorf("users: %q is not a valid UserID", u))
			return
		}
		users = append(users, u)
	}
	lastActivity, err := parseSince(q.Get("activitySince"))
	if err != nil {
		writeSimError(w, http.StatusBadRequest, err)
		return
	}
	if q.Get("presence") == "1" {
		// As on /sim/events: counted before the headers go out, closed on every return.
		for _, u := range users {
			s.presenceOpen(u)
			defer s.presenceClose(r.Context(), u, clientIP(r))
		}
	}
	flusher, ok := sseStream(w)
	if !ok {
		return
	}
	last := map[string]uint64{}
	accountsSent, sentAccounts := uint64(0), false
	s.serveSSE(w, r, flusher, func() (<-chan struct{}, bool, error) {
		var out []streamEvent
		var kinds []string
		var acts []activityEntry
		var accounts *accountsEvent
		s.mu.Lock()
		if !sentAccounts || s.accountsVer != accountsSent {
			accounts = &accountsEvent{Users: s.usersLocked()}
			accountsSent, sentAccounts = s.accountsVer, true
		}
		for _, u := range users {
			for _, e := range s.timelineLocked(u).events {
				if e.Seq <= last[u] {
					continue
				}
				last[u] = e.Seq
				se := streamEvent{User: u, MsgKey: e.MsgKey}
				switch e.Kind {
				case "message":
					m := *e.Message
					se.Message = &m
				case "state":
					se.Action, se.Online = e.State, e.State == tim.StateLogin
				}
				out = append(out, se)
				kinds = append(kinds, e.Kind)
			}
		}
		for _, a := range s.feed.entries {
			if a.Seq > lastActivity {
				acts = append(acts, a)
				lastActivity = a.Seq
			}
		}
		changed := s.anyChanged
		s.mu.Unlock()
		if accounts != nil {
			if err := writeSSE(w, 0, "accounts", accounts); err != nil {
				return nil, false, err
			}
		}
		for i, se := range out {
			if err := writeSSE(w, 0, kinds[i], se); err != nil {
				return nil, false, err
			}
		}
		for _, a := range acts {
			if err := writeSSE(w, a.Seq, "activity", a); err != nil {
				return nil, false, err
			}
		}
		return changed, len(out)+len(acts) > 0 || accounts != nil, nil
	})
}

// serveSSE runs an event stream until the client goes away, the emulator closes or a write
// fails. Each round, next writes what is new (wrote reports whether anything was) and returns the
// channel that closes on the next change; in between, a comment line keeps the connection alive.
func (s *Server) serveSSE(w http.ResponseWriter, r *http.Request, flusher http.Flusher,
	next func() (changed <-chan struct{}, wrote bool, err error)) {
	heartbeat := time.NewTicker(sseHeartbeat)
	defer heartbeat.Stop()
	for {
		changed, wrote, err := next()
		if err != nil {
			return
		}
		if wrote {
			flusher.Flush()
		}
		select {
		case <-changed:
		case <-heartbeat.C:
			if _, err := io.WriteString(w, ": ping\n\n"); err != nil {
				return
			}
			flusher.Flush()
		case <-r.Context().Done():
			return
		case <-s.done:
			return
		}
	}
}

func splitComma(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
