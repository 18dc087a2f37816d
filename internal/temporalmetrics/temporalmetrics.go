// Package temporalmetrics puts the Temporal SDK's metrics (and whatever workflows and activities
// emit through workflow.GetMetricsHandler / activity.GetMetricsHandler) on a Prometheus registry,
// so a program serves them on its own /metrics page. Both programs use it: the API for its
// client's metrics, the worker for the worker's and timdesk's own.
package temporalmetrics

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/uber-go/tally/v4"
	tallyprom "github.com/uber-go/tally/v4/prometheus"
	"go.temporal.io/sdk/client"
	sdktally "go.temporal.io/sdk/contrib/tally"
)

// Buckets are the histogram buckets (seconds) of every Temporal timer on the page: from a
// millisecond (SDK request latencies) to two hours (a customer waiting for the first human reply).
var Buckets = []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200}

// reportEvery is how often the tally scope flushes into the registry.
const reportEvery = time.Second

// NewHandler returns a Temporal metrics handler whose metrics land in reg with Prometheus names
// (counters end in _total, timers in _seconds and are histograms over Buckets). onError gets
// registration conflicts other than "already registered". Close the closer on shutdown; it
// flushes.
func NewHandler(reg *prometheus.Registry, onError func(error)) (client.MetricsHandler, io.Closer, error) {
	if reg == nil {
		return nil, nil, errors.New("temporal metrics: nil registry")
	}
	// The reporter is built directly, not via tallyprom.Configuration, which registers a handler
	// on http.DefaultServeMux.
	reporter := tallyprom.NewReporter(tallyprom.Options{
		Registerer:              reg,
		Gatherer:                reg,
		DefaultTimerType:        tallyprom.HistogramTimerType,
		DefaultHistogramBuckets: Buckets,
		OnRegisterError: func(err error) {
			var already prometheus.AlreadyRegisteredError
			if !errors.As(err, &already) && onError != nil {
				onError(err)
			}
		},
	})
	scope, closer := tally.NewRootScope(tally.ScopeOptions{
		CachedReporter:  reporter,
		Separator:       tallyprom.DefaultSeparator,
		SanitizeOptions: &sdktally.PrometheusSanitizeOptions,
	}, reportEvery)
	return sdktally.NewMetricsHandler(sdktally.NewPrometheusNamingScope(scope)), closer, nil
}

// RegisterProcessCollectors adds the Go runtime and process collectors to reg.
func RegisterProcessCollectors(reg prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	} {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("register process metrics: %w", err)
		}
	}
	return nil
}
