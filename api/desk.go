package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/timdesk/timdesk/desk"
	"github.com/timdesk/timdesk/workflows"
)

// Desk view timing: the callback path reads the desk through a short cache so a slow or absent
// worker never eats Tencent's 2 s.
const (
	deskCacheTTL          = 5 * time.Second
	deskQueryTimeout      = 300 * time.Millisecond // on the callback path, cold cache
	deskAdminQueryTimeout = 5 * time.Second        // admin reads, which want the live value
)

// deskSnapshot is what the API knows about the desk at one moment.
type deskSnapshot struct {
	Roster     *desk.Roster // nil when no roster is known
	RosterYAML string
	Version    int
	Source     string                           // desk.SourceDesk, desk.SourceFile or desk.SourceNone
	Presence   map[string]desk.Presence         // nil when the desk workflow did not answer
	Languages  map[string]string                // preferences set through the API
	Detected   map[string]desk.DetectedLanguage // languages users were detected writing in
	DeskErr    error                            // why the desk workflow did not answer (nil when it did)
	FetchedAt  time.Time
}

// IsAgent reports whether id is on the roster (agents and supervisors).
func (s *deskSnapshot) IsAgent(id string) bool {
	return s != nil && s.Roster != nil && s.Roster.IsAgent(id)
}

// deskView caches the desk workflow's state (query QueryDesk), falling back to the roster file.
type deskView struct {
	querier  temporalClient
	readFile func() ([]byte, error)
	now      func() time.Time
	log      *slog.Logger

	mu         sync.Mutex
	snap       *deskSnapshot
	refreshing bool
	fetchMu    sync.Mutex // one synchronous fetch at a time
}

func newDeskView(q temporalClient, readFile func() ([]byte, error), now func() time.Time, log *slog.Logger) *deskView {
	return &deskView{querier: q, readFile: readFile, now: now, log: log}
}

// cached returns a recent snapshot: fresh from the cache, stale while a background refresh runs,
// or fetched now within deskQueryTimeout on a cold cache.
func (d *deskView) cached(ctx context.Context) *deskSnapshot {
	d.mu.Lock()
	snap := d.snap
	if snap != nil && d.now().Sub(snap.FetchedAt) < deskCacheTTL {
		d.mu.Unlock()
		return snap
	}
	if snap != nil {
		if !d.refreshing {
			d.refreshing = true
			go d.refresh(context.WithoutCancel(ctx))
		}
		d.mu.Unlock()
		return snap
	}
	d.mu.Unlock()

	d.fetchMu.Lock()
	defer d.fetchMu.Unlock()
	d.mu.Lock()
	if d.snap != nil {
		snap = d.snap
		d.mu.Unlock()
		return snap
	}
	d.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, deskQueryTimeout)
	defer cancel()
	return d.store(d.fetch(ctx))
}

// live fetches the desk now (admin reads) and refreshes the cache.
func (d *deskView) live(ctx context.Context) *deskSnapshot {
	ctx, cancel := context.WithTimeout(ctx, deskAdminQueryTimeout)
	defer cancel()
	return d.store(d.fetch(ctx))
}

// invalidate drops the cached snapshot (after a roster or language change).
func (d *deskView) invalidate() {
	d.mu.Lock()
	d.snap = nil
	d.mu.Unlock()
}

func (d *deskView) refresh(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	snap := d.fetch(ctx)
	d.mu.Lock()
	d.refreshing = false
	d.mu.Unlock()
	d.store(snap)
}

func (d *deskView) store(s *deskSnapshot) *deskSnapshot {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.snap == nil || !s.FetchedAt.Before(d.snap.FetchedAt) {
		d.snap = s
	}
	return s
}

// fetch queries the desk workflow and applies desk.ResolveRoster (its override, else the roster
// file).
func (d *deskView) fetch(ctx context.Context) *deskSnapshot {
	snap := &deskSnapshot{Source: desk.SourceNone, FetchedAt: d.now()}
	state, err := d.queryDesk(ctx)
	if err != nil {
		snap.DeskErr, state = err, desk.State{}
		d.log.Debug("desk query failed, using roster file", "error", err)
	} else {
		snap.Presence = state.Presence
		snap.Languages = state.Languages
		snap.Detected = state.Detected
	}
	var file func() (*desk.Roster, string, error)
	if d.readFile != nil {
		file = d.rosterFile
	}
	parse := func(yaml string) (*desk.Roster, error) { return desk.ParseRoster([]byte(yaml)) }
	res, err := desk.ResolveRoster(state, parse, file)
	if res.OverrideErr != nil {
		d.log.Warn("desk roster does not parse, using roster file", "error", res.OverrideErr)
	}
	if err != nil {
		d.log.Warn("roster file unusable", "error", err)
	}
	snap.Roster, snap.RosterYAML, snap.Source, snap.Version = res.Roster, res.YAML, res.Source, res.Version
	return snap
}

// rosterFile reads and parses the roster file.
func (d *deskView) rosterFile() (*desk.Roster, string, error) {
	raw, err := d.readFile()
	if err != nil {
		return nil, "", fmt.Errorf("read roster file: %w", err)
	}
	r, err := desk.ParseRoster(raw)
	if err != nil {
		return nil, "", fmt.Errorf("roster file: %w", err)
	}
	return r, string(raw), nil
}

func (d *deskView) queryDesk(ctx context.Context) (desk.State, error) {
	var st desk.State
	v, err := d.querier.QueryWorkflow(ctx, workflows.DeskWorkflowID, "", workflows.QueryDesk)
	if err != nil {
		return st, fmt.Errorf("query desk: %w", err)
	}
	if v == nil || !v.HasValue() {
		return st, errors.New("query desk: empty result")
	}
	if err := v.Get(&st); err != nil {
		return st, fmt.Errorf("decode desk state: %w", err)
	}
	return st, nil
}

// userLanguages answers "which language does this user read" from the desk workflow's state,
// the one place every API replica and the workflows share: the preference set through the admin
// API, else the language the user was detected writing in (by whichever replica saw it). A
// replica remembers for a minute what it just sent the desk (preferred, pending), so it uses a
// change before its next desk snapshot, and never signals the same detection twice.
type userLanguages struct {
	preferred *lruCache[string, string]
	pending   *lruCache[string, string]
}

// languageMemory is how long a replica trusts its own recent changes over the desk snapshot.
const languageMemory = time.Minute

func newUserLanguages(now func() time.Time) *userLanguages {
	return &userLanguages{
		preferred: newLRU[string, string](10_000, languageMemory, now),
		pending:   newLRU[string, string](10_000, languageMemory, now),
	}
}

// needsRecord reports whether the detection lang of userID should be sent to the desk: the desk
// does not have it, or recorded it more than desk.DetectedRefresh ago (so active users are not
// evicted as old), and this replica did not just send it.
func (u *userLanguages) needsRecord(userID, lang string, snap *deskSnapshot) bool {
	if userID == "" || lang == "" {
		return false
	}
	if p, ok := u.pending.Get(userID); ok && p == lang {
		return false
	}
	if snap != nil {
		if d, ok := snap.Detected[userID]; ok && d.Language == lang && snap.FetchedAt.Sub(d.At) < desk.DetectedRefresh {
			return false
		}
	}
	u.pending.Put(userID, lang)
	return true
}

// prefer records a preference just set through the API ("" clears it).
func (u *userLanguages) prefer(userID, lang string) { u.preferred.Put(userID, lang) }

// of returns the user's language: a preference this replica just set, the desk's preference, a
// detection this replica just sent, the desk's detection; "" when none is known.
func (u *userLanguages) of(userID string, snap *deskSnapshot) string {
	if lang, ok := u.preferred.Get(userID); ok {
		if lang != "" {
			return desk.NormalizeLanguage(lang)
		}
	} else if snap != nil && snap.Languages[userID] != "" {
		return snap.Languages[userID]
	}
	if lang, ok := u.pending.Get(userID); ok {
		return lang
	}
	if snap != nil {
		return snap.Detected[userID].Language
	}
	return ""
}
