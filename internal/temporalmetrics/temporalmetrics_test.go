package temporalmetrics

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// gather renders reg in the Prometheus text format.
func gather(t *testing.T, reg *prometheus.Registry) string {
	t.Helper()
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.HTTPErrorOnError}).
		ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", rec.Code, rec.Body)
	}
	return rec.Body.String()
}

func TestHandlerNamesAndBuckets(t *testing.T) {
	reg := prometheus.NewRegistry()
	if err := RegisterProcessCollectors(reg); err != nil {
		t.Fatal(err)
	}
	h, closer, err := NewHandler(reg, func(err error) { t.Errorf("metrics error: %v", err) })
	if err != nil {
		t.Fatal(err)
	}
	h.WithTags(map[string]string{"trigger": "low_confidence"}).Counter("timdesk_handoffs").Inc(2)
	h.Timer("timdesk_first_human_reply").Record(90 * time.Minute)
	if err := closer.Close(); err != nil { // flushes
		t.Fatal(err)
	}
	page := gather(t, reg)
	for _, want := range []string{
		`timdesk_handoffs_total{trigger="low_confidence"} 2`,
		`timdesk_first_human_reply_seconds_bucket{le="3600"} 0`,
		`timdesk_first_human_reply_seconds_bucket{le="7200"} 1`,
		`timdesk_first_human_reply_seconds_count 1`,
		"go_goroutines",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s:\n%s", want, page)
		}
	}
	if _, _, err := NewHandler(nil, nil); err == nil {
		t.Error("nil registry accepted")
	}
}
