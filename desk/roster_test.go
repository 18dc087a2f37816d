package desk

import (
	"errors"
	"os"
	"slices"
	"testing"
	"time"
)

const issueRoster = `
timezone: Asia/Shanghai
accept_timeout: 2m
reply_timeout: 10m
agents:
  - id: agent_li
    name: Li Wei
    language: zh
    capacity: 5
    shifts: ["mon-fri 09:00-18:00"]
  - id: agent_emma
    name: Emma
    language: en
    capacity: 3
    shifts: ["mon-fri 18:00-23:30", "sat 10:00-16:00"]
  - id: agent_night
    language: en-US
    shifts: ["fri-sun 22:00-06:00"]
supervisors: [agent_zhang]
overrides:
  - {date: 2026-10-01, closed: true}
  - {date: 2026-10-08, agents: [agent_emma]}
  - {date: 2026-10-09, agents: [agent_li], hours: "10:00-12:00"}
`

func mustRoster(t *testing.T, doc string) *Roster {
	t.Helper()
	r, err := ParseRoster([]byte(doc))
	if err != nil {
		t.Fatalf("ParseRoster: %v", err)
	}
	return r
}

func ids(agents []Agent) []string {
	out := []string{}
	for _, a := range agents {
		out = append(out, a.ID)
	}
	return out
}

func TestRosterOnDuty(t *testing.T) {
	r := mustRoster(t, issueRoster)
	sh := r.Location()
	cases := []struct {
		name string
		at   time.Time
		want []string
	}{
		{"weekday morning in Shanghai", time.Date(2026, 11, 26, 9, 0, 0, 0, sh), []string{"agent_li"}},
		{"same instant given in UTC", time.Date(2026, 11, 26, 1, 0, 0, 0, time.UTC), []string{"agent_li"}},
		{"just before the shift", time.Date(2026, 11, 26, 8, 59, 59, 0, sh), []string{}},
		{"end is exclusive; evening shift starts", time.Date(2026, 11, 26, 18, 0, 0, 0, sh), []string{"agent_emma"}},
		{"after the evening shift", time.Date(2026, 11, 26, 23, 30, 0, 0, sh), []string{}},
		{"saturday shift", time.Date(2026, 11, 28, 12, 0, 0, 0, sh), []string{"agent_emma"}},
		{"friday night before midnight", time.Date(2026, 11, 27, 23, 0, 0, 0, sh), []string{"agent_emma", "agent_night"}},
		{"crosses midnight into saturday", time.Date(2026, 11, 28, 3, 0, 0, 0, sh), []string{"agent_night"}},
		{"sunday's shift runs into monday", time.Date(2026, 11, 30, 5, 59, 0, 0, sh), []string{"agent_night"}},
		{"thursday night has no night shift", time.Date(2026, 11, 27, 3, 0, 0, 0, sh), []string{}},
		{"closed date", time.Date(2026, 10, 1, 10, 0, 0, 0, sh), []string{}},
		{"override restricts to emma (her usual hours)", time.Date(2026, 10, 8, 10, 0, 0, 0, sh), []string{}},
		{"override restricts to emma, evening", time.Date(2026, 10, 8, 19, 0, 0, 0, sh), []string{"agent_emma"}},
		{"override hours for li", time.Date(2026, 10, 9, 11, 0, 0, 0, sh), []string{"agent_li"}},
		{"override hours end", time.Date(2026, 10, 9, 13, 0, 0, 0, sh), []string{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := ids(r.OnDuty(c.at)); !slices.Equal(got, c.want) {
				t.Errorf("OnDuty(%v) = %v, want %v", c.at, got, c.want)
			}
		})
	}
}

func TestRosterNextShiftStart(t *testing.T) {
	r := mustRoster(t, issueRoster)
	sh := r.Location()
	cases := []struct {
		name string
		at   time.Time
		want time.Time
	}{
		{"early morning", time.Date(2026, 11, 26, 7, 0, 0, 0, sh), time.Date(2026, 11, 26, 9, 0, 0, 0, sh)},
		{"late thursday", time.Date(2026, 11, 26, 23, 45, 0, 0, sh), time.Date(2026, 11, 27, 9, 0, 0, 0, sh)},
		{"sunday afternoon: the night shift", time.Date(2026, 11, 29, 12, 0, 0, 0, sh), time.Date(2026, 11, 29, 22, 0, 0, 0, sh)},
		{"closed date is skipped", time.Date(2026, 9, 30, 23, 45, 0, 0, sh), time.Date(2026, 10, 2, 9, 0, 0, 0, sh)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := r.NextShiftStart(c.at)
			if !ok || !got.Equal(c.want) {
				t.Errorf("NextShiftStart(%v) = %v %v, want %v", c.at, got, ok, c.want)
			}
		})
	}
}

func TestRosterDST(t *testing.T) {
	r := mustRoster(t, `
timezone: America/New_York
agents:
  - {id: a_day, shifts: ["daily 09:00-17:00"]}
  - {id: a_night, shifts: ["daily 22:00-06:00"]}
`)
	ny := r.Location()
	// 2026-03-08: clocks go 02:00 → 03:00 (EST -5 → EDT -4).
	cases := []struct {
		name string
		at   time.Time
		want []string
	}{
		{"09:00 EDT after spring forward = 13:00 UTC", time.Date(2026, 3, 8, 13, 0, 0, 0, time.UTC), []string{"a_day"}},
		{"08:30 EDT is 12:30 UTC: not yet", time.Date(2026, 3, 8, 12, 30, 0, 0, time.UTC), []string{}},
		{"night shift across the skipped hour (03:30 EDT)", time.Date(2026, 3, 8, 7, 30, 0, 0, time.UTC), []string{"a_night"}},
		{"night shift ends 06:00 EDT = 10:00 UTC", time.Date(2026, 3, 8, 10, 0, 0, 0, time.UTC), []string{}},
		{"fall back: 09:00 EST = 14:00 UTC", time.Date(2026, 11, 1, 14, 0, 0, 0, time.UTC), []string{"a_day"}},
		{"fall back: 13:30 UTC is 08:30 EST", time.Date(2026, 11, 1, 13, 30, 0, 0, time.UTC), []string{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := ids(r.OnDuty(c.at)); !slices.Equal(got, c.want) {
				t.Errorf("OnDuty(%v = %v local) = %v, want %v", c.at, c.at.In(ny), got, c.want)
			}
		})
	}
	// the night shift on the spring-forward night is one hour shorter: 22:00 EST → 06:00 EDT = 7 h
	start, _ := r.NextShiftStart(time.Date(2026, 3, 7, 21, 0, 0, 0, ny))
	if want := time.Date(2026, 3, 7, 22, 0, 0, 0, ny); !start.Equal(want) {
		t.Errorf("next start = %v, want %v", start, want)
	}
}

func TestParseRosterRejects(t *testing.T) {
	cases := map[string]string{
		"bad yaml":          "agents: [",
		"bad timezone":      "timezone: Mars/Olympus\nagents: [{id: a}]",
		"no agents":         "timezone: UTC",
		"duplicate":         "agents: [{id: a}, {id: a}]",
		"bad shift":         `agents: [{id: a, shifts: ["funday 09:00-10:00"]}]`,
		"bad hours":         `agents: [{id: a, shifts: ["mon 25:00-26:00"]}]`,
		"empty id":          `agents: [{id: ""}]`,
		"long id":           `agents: [{id: "abcdefghijabcdefghijabcdefghijabc"}]`,
		"negative capacity": `agents: [{id: a, capacity: -1}]`,
		"bad override date": "agents: [{id: a}]\noverrides: [{date: tomorrow, closed: true}]",
		"unknown override":  "agents: [{id: a}]\noverrides: [{date: 2026-01-01, agents: [b]}]",
		"negative timeout":  "accept_timeout: -1m\nagents: [{id: a}]",
	}
	for name, doc := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := ParseRoster([]byte(doc)); !errors.Is(err, ErrInvalidRoster) {
				t.Errorf("ParseRoster = %v, want ErrInvalidRoster", err)
			}
		})
	}
}

func TestRosterDefaultsAndLookups(t *testing.T) {
	r := mustRoster(t, issueRoster)
	if r.AcceptTimeout != 2*time.Minute || r.ReplyTimeout != 10*time.Minute {
		t.Errorf("timeouts %v %v", r.AcceptTimeout, r.ReplyTimeout)
	}
	if a, ok := r.Agent("agent_night"); !ok || a.Capacity != DefaultCapacity || a.Language != "en" {
		t.Errorf("agent_night = %+v %v (default capacity, normalized language)", a, ok)
	}
	if !r.IsAgent("agent_zhang") || !r.IsSupervisor("agent_zhang") || r.IsAgent("nobody") {
		t.Error("supervisor lookups")
	}
	if got := r.AccountIDs(); !slices.Equal(got, []string{"agent_li", "agent_emma", "agent_night", "agent_zhang"}) {
		t.Errorf("AccountIDs = %v", got)
	}
	d := mustRoster(t, "agents: [{id: a}]")
	if d.Timezone != "UTC" || d.AcceptTimeout != DefaultAcceptTimeout {
		t.Errorf("defaults: %+v", d)
	}
}

// The demo roster must always have someone on duty (the demo relies on it).
func TestDemoRosterLoads(t *testing.T) {
	data, err := os.ReadFile("../deploy/demo/roster.yaml")
	if err != nil {
		t.Fatal(err)
	}
	r := mustRoster(t, string(data))
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for at := start; at.Before(start.AddDate(1, 0, 0)); at = at.Add(37 * time.Minute) {
		if len(r.OnDuty(at)) == 0 {
			t.Fatalf("nobody on duty at %v", at)
		}
	}
}
