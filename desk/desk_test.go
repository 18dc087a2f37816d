package desk

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestPolicyWithDefaults(t *testing.T) {
	tests := []struct {
		name string
		in   Policy
		want func(Policy) bool
	}{
		{"zero policy takes every default", Policy{}, func(p Policy) bool {
			d := DefaultPolicy()
			return p.DeskLanguage == d.DeskLanguage && len(p.HumanKeywords) == len(d.HumanKeywords) &&
				p.AIIdleTimeout == d.AIIdleTimeout && p.QueueIdleTimeout == d.QueueIdleTimeout &&
				p.HumanIdleTimeout == d.HumanIdleTimeout && p.AcceptTimeout == d.AcceptTimeout &&
				p.ReplyTimeout == d.ReplyTimeout && p.RatingWindow == d.RatingWindow && p.RetryRouteAfter == d.AcceptTimeout &&
				p.MinConfidence == 0 && p.MaxClarify == 0 && !p.RatingPrompt
		}},
		{"set values are kept", Policy{DeskLanguage: "zh", HumanKeywords: []string{}, AcceptTimeout: time.Minute, RetryRouteAfter: time.Hour, MinConfidence: 0.7},
			func(p Policy) bool {
				return p.DeskLanguage == "zh" && len(p.HumanKeywords) == 0 && p.AcceptTimeout == time.Minute &&
					p.RetryRouteAfter == time.Hour && p.MinConfidence == 0.7
			}},
		{"retry follows the accept timeout", Policy{AcceptTimeout: 5 * time.Minute}, func(p Policy) bool { return p.RetryRouteAfter == 5*time.Minute }},
		{"negative durations are defaulted", Policy{HumanIdleTimeout: -time.Second}, func(p Policy) bool { return p.HumanIdleTimeout == 2*time.Hour }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.in.WithDefaults(); !tt.want(got) {
				t.Errorf("WithDefaults() = %+v", got)
			}
		})
	}
}

func TestResolveRoster(t *testing.T) {
	file := mustRoster(t, "agents: [{id: from_file}]")
	parse := func(y string) (*Roster, error) { return ParseRoster([]byte(y)) }
	fromFile := func() (*Roster, string, error) { return file, "file yaml", nil }
	tests := []struct {
		name        string
		st          State
		file        func() (*Roster, string, error)
		wantSource  string
		wantAgent   string
		wantVersion int
		wantOverErr bool
		wantErr     bool
	}{
		{"desk override wins", State{RosterYAML: "agents: [{id: from_desk}]", RosterVersion: 3}, fromFile, SourceDesk, "from_desk", 3, false, false},
		{"no override: the file", State{RosterVersion: 4}, fromFile, SourceFile, "from_file", 4, false, false},
		{"invalid override: the file", State{RosterYAML: "agents: [", RosterVersion: 5}, fromFile, SourceFile, "from_file", 5, true, false},
		{"no file: none", State{}, nil, SourceNone, "", 0, false, false},
		{"file without roster: none", State{}, func() (*Roster, string, error) { return nil, "", nil }, SourceNone, "", 0, false, false},
		{"file error", State{}, func() (*Roster, string, error) { return nil, "", errors.New("gone") }, SourceNone, "", 0, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ResolveRoster(tt.st, parse, tt.file)
			if (err != nil) != tt.wantErr || got.Source != tt.wantSource || got.Version != tt.wantVersion || (got.OverrideErr != nil) != tt.wantOverErr {
				t.Fatalf("ResolveRoster = %+v, %v", got, err)
			}
			if tt.wantAgent == "" {
				if got.Roster != nil {
					t.Fatalf("roster %+v, want none", got.Roster)
				}
				return
			}
			if got.Roster == nil || got.Roster.Agents[0].ID != tt.wantAgent {
				t.Fatalf("roster %+v, want agent %s", got.Roster, tt.wantAgent)
			}
		})
	}
}

func TestStatePresenceAndLanguage(t *testing.T) {
	st := NewState(nil)
	t0 := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	steps := []struct {
		ev          PresenceEvent
		cameOnline  bool
		wantOffline bool
	}{
		{PresenceEvent{UserID: "a", Online: true, At: t0}, true, false},
		{PresenceEvent{UserID: "a", Online: true, At: t0.Add(time.Second)}, false, false},
		{PresenceEvent{UserID: "a", Online: false, At: t0.Add(2 * time.Second)}, false, true},
		{PresenceEvent{UserID: "a", Online: true, At: t0.Add(time.Second)}, false, true}, // late: ignored
		{PresenceEvent{UserID: "a", Online: true, At: t0.Add(3 * time.Second)}, true, false},
		{PresenceEvent{Online: true, At: t0}, false, false}, // no user: ignored
	}
	for i, s := range steps {
		if got := st.ApplyPresence(s.ev); got != s.cameOnline || st.Offline("a") != s.wantOffline {
			t.Fatalf("step %d: cameOnline %v offline %v", i, got, st.Offline("a"))
		}
	}
	if st.Offline("unknown") {
		t.Error("unknown presence counts as offline")
	}
	st.ApplyLanguage(LanguagePreference{UserID: "c", Language: "zh-CN"}, t0)
	if got := st.AgentLanguage(Agent{ID: "c", Language: "en"}, "ja"); got != "zh" {
		t.Errorf("preference: %q", got)
	}
	st.ApplyLanguage(LanguagePreference{UserID: "c"}, t0)
	for _, tt := range []struct {
		a        Agent
		deskLang string
		want     string
	}{{Agent{ID: "c", Language: "en"}, "ja", "en"}, {Agent{ID: "c"}, "ja", "ja"}, {Agent{ID: "c"}, "", "en"}} {
		if got := st.AgentLanguage(tt.a, tt.deskLang); got != tt.want {
			t.Errorf("AgentLanguage(%+v, %q) = %q, want %q", tt.a, tt.deskLang, got, tt.want)
		}
	}
}

func TestQueries(t *testing.T) {
	q := AgentLoadQuery("agent_li")
	for _, part := range []string{`TimdeskStatus = "human"`, `TimdeskAgent = "agent_li"`, `ExecutionStatus = "Running"`} {
		if !strings.Contains(q, part) {
			t.Errorf("AgentLoadQuery = %q, missing %s", q, part)
		}
	}
	if q := QueuedQuery(); !strings.Contains(q, `TimdeskStatus = "queued"`) || !strings.Contains(q, `ExecutionStatus = "Running"`) {
		t.Errorf("QueuedQuery = %q", q)
	}
}
