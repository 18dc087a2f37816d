package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"go.temporal.io/api/serviceerror"

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
	FileRoster *desk.Roster // the roster file's (also under an override); nil without a usable file
	RosterYAML string
	Version    int
	Source     string                           // desk.SourceDesk, desk.SourceFile or desk.SourceNone
	Presence   map[string]desk.Presence         // nil when the desk workflow did not answer
	Languages  map[string]string                // preferences set through the API
	Detected   map[string]desk.DetectedLanguage // languages users were detected writing in
	DeskErr    error                            // why the desk workflow did not answer this fetch (nil when it did)
	// Answered: the desk workflow answered this fetch or an earlier one of this process, so the
	// roster override, presence and languages are the desk's (Stale: from that earlier answer,
	// at AnsweredAt). False only while the desk never answered since the API started: the view
	// is the roster file alone and an agent added through the API is not known.
	Answered   bool
	Stale      bool
	AnsweredAt time.Time
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

	metrics *metrics // nil: no metrics

	mu         sync.Mutex
	snap       *deskSnapshot
	refreshing bool
	fetchMu    sync.Mutex // one synchronous fetch at a time

	// The desk's last answer (kept across failed queries and invalidate) and the rate limit of
	// the warning that it is being served stale.
	answer     *desk.State
	answeredAt time.Time
	warnedAt   time.Time
}

// deskStaleWarnEvery rate-limits the warning that the desk does not answer.
const deskStaleWarnEvery = time.Minute

func newDeskView(q temporalClient, readFile func() ([]byte, error), now func() time.Time, log *slog.Logger, m *metrics) *deskView {
	return &deskView{querier: q, readFile: readFile, now: now, log: log, metrics: m}
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

// invalidate drops the cached snapshot (after a roster or language change); the desk's last
// answer stays, for when the next query fails.
func (d *deskView) invalidate() {
	d.mu.Lock()
	d.snap = nil
	d.mu.Unlock()
}

func (d *deskView) refresh(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	d.store(d.fetch(ctx))
	d.mu.Lock()
	d.refreshing = false // after the store: the next refresh is due only deskCacheTTL after this fetch
	d.mu.Unlock()
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
// file). When the desk does not answer (worker down or slow), the snapshot is the desk's last
// answer marked Stale — its roster override, presence and languages, never an empty desk that
// would make agents added through the API look like customers — and only an answer replaces it.
// A desk workflow that does not exist (never started) is an answer: no override, no presence.
func (d *deskView) fetch(ctx context.Context) *deskSnapshot {
	started := d.now()
	snap := &deskSnapshot{Source: desk.SourceNone, FetchedAt: started}
	state, err := d.queryDesk(ctx)
	if notFound := (*serviceerror.NotFound)(nil); errors.As(err, &notFound) {
		snap.DeskErr, state, err = err, desk.State{}, nil // never started: an answer, an empty desk
	}
	if err == nil {
		snap.Answered, snap.AnsweredAt = true, started
		d.remember(state, started)
	} else {
		snap.DeskErr, state = err, desk.State{}
		if last, at, ok := d.lastAnswer(); ok {
			state = last
			snap.Answered, snap.Stale, snap.AnsweredAt = true, true, at
		}
		d.failed(err, snap)
	}
	snap.Presence, snap.Languages, snap.Detected = state.Presence, state.Languages, state.Detected
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
	switch {
	case res.Source == desk.SourceFile:
		snap.FileRoster = res.Roster
	case file != nil:
		// Under an override the file's agents stay staff (isStaff): read it once per fetch, not
		// per UserSig request. A file that does not read or parse names no one; logged above
		// when it is the roster in force.
		snap.FileRoster, _, _ = file()
	}
	return snap
}

// remember keeps the desk's answer of a fetch started at at, unless a later fetch's answer is
// already kept.
func (d *deskView) remember(st desk.State, at time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.answer == nil || !at.Before(d.answeredAt) {
		d.answer, d.answeredAt = &st, at
	}
	if d.metrics != nil {
		d.metrics.deskStale.Set(0)
	}
}

// lastAnswer is the desk's last answer in this process (ok false when it never answered).
func (d *deskView) lastAnswer() (desk.State, time.Time, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.answer == nil {
		return desk.State{}, time.Time{}, false
	}
	return *d.answer, d.answeredAt, true
}

// failed counts a desk query that got no answer and warns about it at most once a minute (the
// error is Temporal's: workflow ID and query name, no secrets).
func (d *deskView) failed(err error, snap *deskSnapshot) {
	if d.metrics != nil {
		d.metrics.deskQueryFailures.Inc()
		d.metrics.deskStale.Set(1)
	}
	now := d.now()
	d.mu.Lock()
	warn := d.warnedAt.IsZero() || now.Sub(d.warnedAt) >= deskStaleWarnEvery
	if warn {
		d.warnedAt = now
	}
	d.mu.Unlock()
	switch {
	case !warn:
		d.log.Debug("desk query failed", "error", err)
	case snap.Answered:
		d.log.Warn("desk query failed; serving the desk's last answer (roster override, presence, languages)",
			"answeredAgo", now.Sub(snap.AnsweredAt).Round(time.Second).String(), "error", err)
	default:
		d.log.Warn("desk query failed and the desk has not answered since the API started; using the roster file, and refusing sends between users it does not know until the desk answers",
			"error", err)
	}
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
