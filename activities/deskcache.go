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
type deskCache struct {
	mu       sync.Mutex
	at       time.Time
	state    desk.State
	valid    bool
	inflight *deskRead
}

// deskRead is one desk query shared by the readers that arrived while it ran.
type deskRead struct {
	done  chan struct{}
	state desk.State
	err   error
}

// cachedDesk returns the desk state read less than DeskCacheTTL ago, else reads it (once for all
// concurrent callers). A failed read is not cached; its callers get an empty state, as desk does.
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
		c.mu.Lock()
		c.inflight = nil
		if read.err == nil {
			c.state, c.at, c.valid = read.state, r.now(), true
		}
		c.mu.Unlock()
		close(read.done)
	} else {
		c.mu.Unlock()
		select {
		case <-read.done:
		case <-ctx.Done():
			return desk.State{}
		}
	}
	if read.err != nil {
		logger(ctx).Warn("desk query failed; using the roster file", "error", read.err)
		return desk.State{}
	}
	return read.state
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
