package main

import (
	"fmt"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the API's own Prometheus series, registered explicitly on the registry run builds.
type metrics struct {
	requests         *prometheus.CounterVec
	requestSeconds   *prometheus.HistogramVec
	callbacks        *prometheus.CounterVec
	callbackSeconds  *prometheus.HistogramVec
	translations     *prometheus.CounterVec
	translateSeconds prometheus.Histogram
	// the desk view (desk.go): queries without an answer, and whether the last one had none
	deskQueryFailures prometheus.Counter
	deskStale         prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "timdesk_http_requests_total",
			Help: "HTTP requests by method, route pattern and status code.",
		}, []string{"method", "route", "status"}),
		requestSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "timdesk_http_request_duration_seconds",
			Help:    "HTTP request latency by method and route pattern.",
			Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 1.5, 2, 5, 10},
		}, []string{"method", "route"}),
		callbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "timdesk_callbacks_total",
			Help: "Tencent IM callbacks by command, decision and answered ErrorCode.",
		}, []string{"command", "decision", "error_code"}),
		callbackSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "timdesk_callback_duration_seconds",
			Help:    "Tencent IM callback handling latency by command (Tencent waits 2 s).",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, .75, 1, 1.25, 1.5, 1.75, 2},
		}, []string{"command"}),
		translations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "timdesk_translations_total",
			Help: "Customer-to-customer in-flight translations by outcome.",
		}, []string{"outcome"}),
		translateSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "timdesk_translation_duration_seconds",
			Help:    "Time spent translating customer-to-customer messages inside the before-send callback.",
			Buckets: []float64{.001, .01, .05, .1, .25, .5, .75, 1, 1.25, 1.5, 2},
		}),
		deskQueryFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "timdesk_desk_query_failures_total",
			Help: "Desk workflow queries that got no answer (worker down or slow); the API kept the desk's last answer.",
		}),
		deskStale: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "timdesk_desk_view_stale",
			Help: "1 while the desk workflow's last query got no answer (the API serves its last answer, or the roster file if none), else 0.",
		}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.requestSeconds, m.callbacks, m.callbackSeconds, m.translations, m.translateSeconds,
		m.deskQueryFailures, m.deskStale} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register metrics: %w", err)
		}
	}
	return m, nil
}

func (m *metrics) observeRequest(method, route string, status int, d time.Duration) {
	m.requests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
	m.requestSeconds.WithLabelValues(method, route).Observe(d.Seconds())
}

func (m *metrics) observeCallback(command, decision string, errorCode int, d time.Duration) {
	m.callbacks.WithLabelValues(command, decision, strconv.Itoa(errorCode)).Inc()
	m.callbackSeconds.WithLabelValues(command).Observe(d.Seconds())
}

// observeCallbackRefusal counts a callback refused before it was handled (bad signature, body,
// field...; answered HTTP 200 with ErrorCode 1) as decision "refused_<code>".
func (m *metrics) observeCallbackRefusal(command, code string) {
	m.callbacks.WithLabelValues(command, decisionRefused+code, "1").Inc()
}
