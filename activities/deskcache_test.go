package activities

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/converter"

	"github.com/timdesk/timdesk/desk"
)

// countingDesk counts desk queries and can hold them until released.
type countingDesk struct {
	deskFake
	n    atomic.Int64
	gate chan struct{}
}

func (d *countingDesk) QueryWorkflow(ctx context.Context, id, run, query string, args ...any) (converter.EncodedValue, error) {
	d.n.Add(1)
	if d.gate != nil {
		<-d.gate
	}
	return d.deskFake.QueryWorkflow(ctx, id, run, query, args...)
}

func TestPolicyDeskCache(t *testing.T) {
	override := desk.State{RosterYAML: "timezone: UTC\naccept_timeout: 42s\nagents: [{id: x, shifts: [\"daily 00:00-24:00\"]}]", RosterVersion: 3}
	cases := []struct {
		name      string
		ttl       time.Duration
		deskErr   error
		calls     []time.Duration // when each sequential Policy call happens
		queries   int64
		acceptTTL time.Duration
	}{
		{"one query serves the TTL", 2 * time.Second, nil, []time.Duration{0, time.Second, 1999 * time.Millisecond}, 1, 42 * time.Second},
		{"expired: read again", 2 * time.Second, nil, []time.Duration{0, 2 * time.Second, 3 * time.Second}, 2, 42 * time.Second},
		{"negative TTL: every call", -1, nil, []time.Duration{0, 0, 0}, 3, 42 * time.Second},
		{"failures are not cached: file roster", 2 * time.Second, errors.New("desk down"), []time.Duration{0, 0}, 2, 90 * time.Second},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			start := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
			now := start
			d := &countingDesk{deskFake: deskFake{desk: override, deskErr: c.deskErr}}
			r := &Router{Temporal: d, Roster: mustRoster(t, routeRoster), DeskWorkflowID: "timdesk/desk", DeskQuery: "desk",
				DeskCacheTTL: c.ttl, Now: func() time.Time { return now }}
			for _, at := range c.calls {
				now = start.Add(at)
				p, err := r.Policy(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				if p.AcceptTimeout != c.acceptTTL {
					t.Errorf("accept timeout %v, want %v", p.AcceptTimeout, c.acceptTTL)
				}
			}
			if got := d.n.Load(); got != c.queries {
				t.Errorf("%d desk queries, want %d", got, c.queries)
			}
		})
	}
}

// TestPolicyDeskCacheShared: callers arriving while a desk query runs wait for it instead of
// querying again.
func TestPolicyDeskCacheShared(t *testing.T) {
	d := &countingDesk{deskFake: deskFake{desk: desk.State{}}, gate: make(chan struct{})}
	r := &Router{Temporal: d, Roster: mustRoster(t, routeRoster), DeskWorkflowID: "timdesk/desk", DeskQuery: "desk"}
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if p, err := r.Policy(context.Background()); err != nil || p.AcceptTimeout != 90*time.Second {
				t.Errorf("policy: %+v %v", p, err)
			}
		}()
	}
	for d.n.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // the others queue behind the first query
	close(d.gate)
	wg.Wait()
	if got := d.n.Load(); got != 1 {
		t.Errorf("%d desk queries for 20 concurrent Policy calls, want 1", got)
	}
}
