package main

import (
	"context"
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
	// workPresence: an agent's login or logout (routing needs it; a lost one is corrected by the
	// agent's next state change or message).
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

// share is the part of the slots a kind of work may fill: a message may take them all, presence
// three quarters, a language record half, so the less important work is shed first and always
// leaves room for messages.
func (w work) share(limit int) int {
	switch w {
	case workMessage:
		return limit
	case workPresence:
		return max(1, limit*3/4)
	default:
		return max(1, limit/2)
	}
}

// admission bounds the Temporal calls the callback path has in flight. A saturated Temporal
// server answers every call late: without a bound, callbacks that will miss Tencent's budget
// anyway keep adding work the server still performs, and throughput falls as the load rises. With
// the bound, a message waits (first come, first served) for a slot up to half the callback
// budget, and is refused at once when none frees: the server keeps working at its capacity on
// calls that will be answered in time. Lower kinds of work are shed before messages (work.share).
type admission struct {
	slots    chan struct{}
	shed     *prometheus.CounterVec
	inflight prometheus.GaugeFunc
}

func newAdmission(limit int, reg prometheus.Registerer) (*admission, error) {
	a := &admission{slots: make(chan struct{}, limit)}
	a.shed = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "timdesk_admission_shed_total",
		Help: "Temporal calls the callback path did not make because Temporal was saturated (TIMDESK_TEMPORAL_MAX_INFLIGHT), by kind of work: language (first), presence, message (last; refused with ErrorCode 1).",
	}, []string{"work"})
	a.inflight = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "timdesk_temporal_inflight_calls",
		Help: "Temporal calls of the callback path in flight (at most TIMDESK_TEMPORAL_MAX_INFLIGHT).",
	}, func() float64 { return float64(len(a.slots)) })
	for _, c := range []prometheus.Collector{a.shed, a.inflight} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	for _, w := range []work{workMessage, workPresence, workLanguage} {
		a.shed.WithLabelValues(w.String()) // export zeros: a dashboard sees the series before the first shed
	}
	return a, nil
}

// admit takes a slot for one Temporal call of kind w, or reports that it was shed. A message
// waits for a slot until half of what is left of ctx's deadline has passed; other work takes a
// free slot within its share or none. The caller calls release when the call returns.
func (a *admission) admit(ctx context.Context, w work) (release func(), ok bool) {
	release = func() { <-a.slots }
	if len(a.slots) < w.share(cap(a.slots)) {
		select {
		case a.slots <- struct{}{}:
			return release, true
		default:
		}
	}
	if w != workMessage {
		a.shed.WithLabelValues(w.String()).Inc()
		return nil, false
	}
	wait := time.Second
	if deadline, has := ctx.Deadline(); has {
		wait = time.Until(deadline) / 2
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case a.slots <- struct{}{}:
		return release, true
	case <-timer.C:
	case <-ctx.Done():
	}
	a.shed.WithLabelValues(w.String()).Inc()
	return nil, false
}
