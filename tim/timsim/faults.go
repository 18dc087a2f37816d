package timsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// Fault is one injected failure of REST commands. The first configured fault whose Command matches
// a request applies to it (and uses up one of its Times).
type Fault struct {
	// Command is the REST command name as in the path ("sendmsg", "account_import", ...), or "*" /
	// "" for every command.
	Command string `json:"command,omitempty"`
	// ErrorCode, when non-zero, is answered (HTTP 200, ActionStatus FAIL) instead of running the command.
	ErrorCode int    `json:"errorCode,omitempty"`
	ErrorInfo string `json:"errorInfo,omitempty"`
	// Latency is added before the command runs (the request's context still applies).
	Latency time.Duration `json:"-"`
	// HTTPStatus, when non-zero, is answered as a bare gateway error (e.g. 502) with no JSON envelope.
	HTTPStatus int `json:"httpStatus,omitempty"`
	// Drop closes the connection without any answer.
	Drop bool `json:"drop,omitempty"`
	// AfterCommand runs the command first and only then fails the answer (HTTPStatus, Drop or
	// ErrorCode): the side effect happened but the caller cannot know — the case sendmsg dedupe is for.
	AfterCommand bool `json:"afterCommand,omitempty"`
	// Times limits how many requests the fault hits; 0 means until cleared.
	Times int `json:"times,omitempty"`
}

// faultJSON is Fault on the wire of /sim/faults (latency in milliseconds).
type faultJSON struct {
	Fault
	LatencyMS int64 `json:"latencyMs,omitempty"`
	// Remaining is reported by GET /sim/faults (-1: unlimited).
	Remaining int `json:"remaining,omitempty"`
}

// RateLimit is a global REST rate limit: more than PerSecond requests within one second of the
// emulator's clock are answered with ErrorCode (default 60007; 60011 models the SDKAppID limit).
type RateLimit struct {
	PerSecond int `json:"perSecond"`
	ErrorCode int `json:"errorCode,omitempty"`
}

type faultState struct {
	Fault
	remaining int // -1: unlimited
}

// faultConfig is the body of POST /sim/faults and the answer of GET /sim/faults.
type faultConfig struct {
	Faults    []faultJSON `json:"faults"`
	RateLimit *RateLimit  `json:"rateLimit,omitempty"`
}

// SetFaults replaces the configured faults.
func (s *Server) SetFaults(faults ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
	for _, f := range faults {
		s.addFaultLocked(f)
	}
}

// AddFault appends one fault after the configured ones.
func (s *Server) AddFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addFaultLocked(f)
}

func (s *Server) addFaultLocked(f Fault) {
	if f.Command == "*" {
		f.Command = ""
	}
	rem := f.Times
	if rem <= 0 {
		rem = -1
	}
	s.faults = append(s.faults, &faultState{Fault: f, remaining: rem})
}

// SetRateLimit sets the global REST rate limit; PerSecond 0 turns it off.
func (s *Server) SetRateLimit(rl RateLimit) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rl.ErrorCode == 0 {
		rl.ErrorCode = 60007
	}
	s.rateLimit = rl
	s.rateCount = 0
}

// ClearFaults removes every fault and the rate limit.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
	s.rateLimit = RateLimit{}
}

// takeFault returns the fault for command (nil if none) and consumes one use of it.
func (s *Server) takeFault(command string) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if f.Command != "" && f.Command != command {
			continue
		}
		if f.remaining > 0 {
			f.remaining--
			if f.remaining == 0 {
				s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
			}
		}
		cp := f.Fault
		return &cp
	}
	return nil
}

// rateLimited counts one request against the rate limit and returns the error code to answer, or 0.
func (s *Server) rateLimited() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rateLimit.PerSecond <= 0 {
		return 0
	}
	sec := s.now().Unix()
	if sec != s.rateWindow {
		s.rateWindow, s.rateCount = sec, 0
	}
	s.rateCount++
	if s.rateCount > s.rateLimit.PerSecond {
		return s.rateLimit.ErrorCode
	}
	return 0
}

func (s *Server) faultConfig() faultConfig {
	s.mu.Lock()
	defer s.mu.Unlock()
	cfg := faultConfig{Faults: []faultJSON{}}
	for _, f := range s.faults {
		cfg.Faults = append(cfg.Faults, faultJSON{Fault: f.Fault, LatencyMS: f.Latency.Milliseconds(), Remaining: f.remaining})
	}
	if s.rateLimit.PerSecond > 0 {
		rl := s.rateLimit
		cfg.RateLimit = &rl
	}
	return cfg
}

// handleGetFaults is GET /sim/faults: the configured faults and rate limit.
func (s *Server) handleGetFaults(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.faultConfig())
}

// handleSetFaults is POST /sim/faults: replace faults and rate limit with the body
// {"faults":[{"command","errorCode","errorInfo","latencyMs","httpStatus","drop","afterCommand","times"}],
// "rateLimit":{"perSecond","errorCode"}}. An empty object clears everything.
func (s *Server) handleSetFaults(w http.ResponseWriter, r *http.Request) {
	var cfg faultConfig
	if err := decodeSimBody(r, &cfg); err != nil {
		writeSimError(w, http.StatusBadRequest, err)
		return
	}
	faults := make([]Fault, 0, len(cfg.Faults))
	for _, f := range cfg.Faults {
		if f.HTTPStatus != 0 && (f.HTTPStatus < 400 || f.HTTPStatus > 599) {
			writeSimError(w, http.StatusBadRequest, fmt.Errorf("httpStatus %d: want 400..599", f.HTTPStatus))
			return
		}
		f.Latency = time.Duration(f.LatencyMS) * time.Millisecond
		faults = append(faults, f.Fault)
	}
	s.SetFaults(faults...)
	rl := RateLimit{}
	if cfg.RateLimit != nil {
		rl = *cfg.RateLimit
	}
	s.SetRateLimit(rl)
	cur := s.faultConfig()
	b, _ := json.Marshal(cur)
	s.note("fault", "faults configured", json.RawMessage(b))
	writeJSON(w, http.StatusOK, cur)
}

// handleClearFaults is DELETE /sim/faults.
func (s *Server) handleClearFaults(w http.ResponseWriter, _ *http.Request) {
	s.ClearFaults()
	s.note("fault", "faults cleared", nil)
	writeJSON(w, http.StatusOK, s.faultConfig())
}
