package main

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// work is a kind of Temporal call the callback path makes, in the order the API sheds them when
// Temporal is saturated: the last first.
type work int

const (
	// workMessage: a customer's or an agent's message. Never shed while a slot can be had within
	// half the callback budget; refused (the sender sees a failed send and resends) only when
	// Temporal could not have taken it in time anyway.
	workMessage work = iota
	// workPresence: an agent's login or logout. Routing depends on it and Tencent never resends
	// a State.StateChange, so it is admitted like a message (it may wait for a slot); agents log in
	// rarely, so it costs the messages nothing.
	workPresence
	// workLanguage: recording a detected language in the desk, a background nicety (the next
	// message records it again).
	workLanguage
)

func (w work) String() string {
	switch w {
	case workMessage:
		return "message"
	case workPresence:
		return "presence"
	default:
		return "language"
	}
}

// share is the part of the slots a kind of work may fill: a message or a presence change may take
// them all, a language record half, so the background work is shed first and always leaves room
// for messages.
func (w work) share(limit int) int {
	if w == workLanguage {
		return max(1, limit/2)
	}
	return limit
}

// waits reports whether work of kind w waits for a slot instead of being shed at once.
func (w work) waits() bool { return w != workLanguage }

// minInflight is the lowest the adaptive limit goes (or a quarter of the maximum, when that is
// more): enough calls in flight to keep a healthy server busy.
const minInflight = 4

// admission bounds the Temporal calls the callback path has in flight. A saturated Temporal
// server answers every call late: without a bound, callbacks that will miss Tencent's budget
// anyway keep adding work the server still performs, the senders' resends add more, and
// throughput falls as the load rises. With the bound, a message waits (first come, first served)
// for a slot up to half of what is left of its budget and is refused at once when none frees, so
// the server keeps working at its capacity on calls that are answered in time. Lower kinds of
// work (language records) is shed before messages and presence (work.share).
//
// The limit adapts to the server (AIMD on latency): it grows by one slot per limit's worth of
// calls answered within target (half the callback budget: what a message that waited for its slot
// has left), and shrinks by a tenth (at most once per target) when a call takes longer or fails on
// its deadline, between the floor (minInflight, or a quarter of the maximum) and the maximum. How many
// calls a server takes in time depends on it (a dev server, a PostgreSQL cluster under load),
// so no fixed number fits every one.
type admission struct {
	target time.Duration // a call slower than this shrinks the limit
	max    int

	mu         sync.Mutex
	limit      float64
	inflight   int
	waiters    []chan struct{} // messages waiting for a slot, oldest first
	lastShrink time.Time

	shed *prometheus.CounterVec
}

func newAdmission(maxInflight int, target time.Duration, reg prometheus.Registerer) (*admission, error) {
	a := &admission{target: target, max: maxInflight, limit: float64(maxInflight)}
	a.shed = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "timdesk_admission_shed_total",
		Help: "Temporal calls the callback path did not make because Temporal was saturated, by kind of work: language (first, at half the slots), presence and message (only when no slot freed within half the budget; a message is refused with ErrorCode 1).",
	}, []string{"work"})
	inflight := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "timdesk_temporal_inflight_calls",
		Help: "Temporal calls of the callback path in flight.",
	}, func() float64 { a.mu.Lock(); defer a.mu.Unlock(); return float64(a.inflight) })
	limit := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "timdesk_temporal_inflight_limit",
		Help: "The adaptive bound on the callback path's Temporal calls in flight (at most TIMDESK_TEMPORAL_MAX_INFLIGHT).",
	}, func() float64 { a.mu.Lock(); defer a.mu.Unlock(); return float64(int(a.limit)) })
	for _, c := range []prometheus.Collector{a.shed, inflight, limit} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	for _, w := range []work{workMessage, workPresence, workLanguage} {
		a.shed.WithLabelValues(w.String()) // export zeros: a dashboard sees the series before the first shed
	}
	return a, nil
}

// admit takes a slot for one Temporal call of kind w, or reports that it was shed. A message or a
// presence change waits for a slot until half of what is left of ctx's deadline has passed; a
// language record takes a free slot within its share or none. The caller calls done with the call's error when it
// returns: its latency steers the limit.
func (a *admission) admit(ctx context.Context, w work) (done func(error), ok bool) {
	a.mu.Lock()
	if a.inflight < w.share(int(a.limit)) && (!w.waits() || len(a.waiters) == 0) {
		a.inflight++
		a.mu.Unlock()
		return a.doneFunc(), true
	}
	if !w.waits() {
		a.mu.Unlock()
		a.shed.WithLabelValues(w.String()).Inc()
		return nil, false
	}
	granted := make(chan struct{})
	a.waiters = append(a.waiters, granted)
	a.mu.Unlock()

	wait := time.Second
	if deadline, has := ctx.Deadline(); has {
		wait = time.Until(deadline) / 2
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-granted:
		return a.doneFunc(), true
	case <-timer.C:
	case <-ctx.Done():
	}
	a.mu.Lock()
	for i, ch := range a.waiters {
		if ch == granted {
			a.waiters = append(a.waiters[:i], a.waiters[i+1:]...)
			break
		}
	}
	a.mu.Unlock()
	select {
	case <-granted: // granted while giving up: the slot is ours
		return a.doneFunc(), true
	default:
	}
	a.shed.WithLabelValues(w.String()).Inc()
	return nil, false
}

// floor is the lowest the limit shrinks to.
func (a *admission) floor() float64 {
	return float64(min(a.max, max(minInflight, a.max/4)))
}

// doneFunc returns the function that ends a call started now.
func (a *admission) doneFunc() func(error) {
	start := time.Now()
	var once sync.Once
	return func(err error) {
		once.Do(func() { a.release(time.Since(start), err) })
	}
}

// release ends a call that took took (err: its result), adapts the limit and hands free slots to
// the waiting messages, oldest first.
func (a *admission) release(took time.Duration, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.inflight--
	now := time.Now()
	slow := took > a.target || errors.Is(err, context.DeadlineExceeded)
	switch {
	case slow && now.Sub(a.lastShrink) >= a.target:
		a.limit = max(a.floor(), a.limit*0.9)
		a.lastShrink = now
	case !slow:
		a.limit = min(float64(a.max), a.limit+1/a.limit)
	}
	for len(a.waiters) > 0 && a.inflight < int(a.limit) {
		ch := a.waiters[0]
		a.waiters = a.waiters[1:]
		a.inflight++
		close(ch)
	}
}
