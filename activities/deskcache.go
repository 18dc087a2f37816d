package activities

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/timdesk/timdesk/desk"
)

// DefaultDeskCacheTTL is how long one read of the desk workflow's state serves Policy (see
// Router.DeskCacheTTL).
const DefaultDeskCacheTTL = 2 * time.Second

// deskCache is the worker's copy of the desk state for Policy: one desk query serves every
// consultation starting within the TTL, and concurrent readers share the query in flight. Policy
// only needs the roster override (the timeouts), which changes seldom; routing keeps asking the
// desk, since presence must be current when an agent's login wakes the queue.
//
// It also keeps the desk's last answers: a query without one (the desk's worker slow or gone)
// serves the last answer instead of an empty desk, which would make routing forget the roster
// set through the API and every agent's presence. Only an answer replaces it.
type deskCache struct {
	mu       sync.Mutex
	at       time.Time // when state was read, or last tried in vain while it is stale
	state    desk.State
	valid    bool      // state is an answer of the desk (DeskQuery)
	answered time.Time // when it was
	inflight *deskRead

	routing   desk.State // routing's last answer (RoutingQuery, else DeskQuery)
	routingAt time.Time
	routingOK bool
}

// deskRead is one desk query shared by the readers that arrived while it ran.
type deskRead struct {
	done  chan struct{}
	state desk.State
	err   error
	stale bool // err: state is the desk's last answer
}

// cachedDesk returns the desk state read less than DeskCacheTTL ago, else reads it (once for all
// concurrent callers). A failed read serves the desk's last answer (and waits the TTL before the
// next read); before any answer, its callers get an empty state (the roster file), as desk does.
func (r *Router) cachedDesk(ctx context.Context) desk.State {
	if r.Temporal == nil || r.DeskWorkflowID == "" {
		return desk.State{}
	}
	ttl := r.DeskCacheTTL
	if ttl == 0 {
		ttl = DefaultDeskCacheTTL
	}
	c := &r.deskCache
	c.mu.Lock()
	if c.valid && r.now().Sub(c.at) < ttl {
		st := c.state
		c.mu.Unlock()
		return st
	}
	read := c.inflight
	if read == nil {
		read = &deskRead{done: make(chan struct{})}
		c.inflight = read
		c.mu.Unlock()
		read.state, read.err = r.queryDesk(ctx)
		now := r.now()
		c.mu.Lock()
		c.inflight = nil
		switch {
		case read.err == nil:
			c.state, c.at, c.answered, c.valid = read.state, now, now, true
		case c.valid:
			c.at = now // serve the last answer for the TTL, then ask again
			read.state, read.stale = c.state, true
		}
		answered := c.answered
		c.mu.Unlock()
		close(read.done)
		if read.stale {
			logger(ctx).Warn("desk query failed; using the desk's last answer", "answeredAt", answered, "error", read.err)
		}
	} else {
		c.mu.Unlock()
		select {
		case <-read.done:
		case <-ctx.Done():
			st, _, _ := r.lastAnswer(false)
			return st
		}
	}
	if read.err == nil || read.stale {
		return read.state
	}
	logger(ctx).Warn("desk query failed; using the roster file", "error", read.err)
	return desk.State{}
}

// rememberRouting keeps routing's answer read at at.
func (r *Router) rememberRouting(st desk.State, at time.Time) {
	c := &r.deskCache
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.routingOK || !at.Before(c.routingAt) {
		c.routing, c.routingAt, c.routingOK = st, at, true
	}
}

// lastAnswer is the desk's last answer: Policy's (DeskQuery); for routing, the newer of that and
// routing's own. ok is false when the desk never answered this worker.
func (r *Router) lastAnswer(routing bool) (desk.State, time.Time, bool) {
	c := &r.deskCache
	c.mu.Lock()
	defer c.mu.Unlock()
	if routing && c.routingOK && (!c.valid || !c.routingAt.Before(c.answered)) {
		return c.routing, c.routingAt, true
	}
	if c.valid {
		return c.state, c.answered, true
	}
	return desk.State{}, time.Time{}, false
}

// queryDesk asks the desk workflow for its state.
func (r *Router) queryDesk(ctx context.Context) (desk.State, error) {
	var ds desk.State
	v, err := r.Temporal.QueryWorkflow(ctx, r.DeskWorkflowID, "", r.DeskQuery)
	if err == nil {
		err = v.Get(&ds)
	}
	if err != nil {
		return desk.State{}, fmt.Errorf("query desk: %w", err)
	}
	return ds, nil
}
