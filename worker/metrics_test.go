package main

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/timdesk/timdesk/activities"
	"github.com/timdesk/timdesk/workflows"
)

// TestDashboardUsesExportedSeries: deploy/grafana-dashboard.json queries only series the programs
// export, and shows every timdesk series the worker exports.
func TestDashboardUsesExportedSeries(t *testing.T) {
	raw, err := os.ReadFile("../deploy/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("dashboard is not JSON: %v", err)
	}
	worker := []string{ // timdesk's own worker series, with their Prometheus suffixes
		workflows.MetricMessages + "_total",
		workflows.MetricAIAnswers + "_total",
		workflows.MetricHandoffs + "_total",
		workflows.MetricEscalations + "_total",
		workflows.MetricFirstHumanReply + "_seconds_bucket",
		activities.MetricSendFailures + "_total",
	}
	exported := append(slices.Clone(worker),
		// the API's (api/metrics.go)
		"timdesk_callbacks_total", "timdesk_callback_duration_seconds_bucket",
		// the Temporal SDK's (go.temporal.io/sdk internal/common/metrics/constants.go)
		"temporal_activity_execution_failed_total", "temporal_activity_schedule_to_start_latency_seconds_bucket",
		"temporal_workflow_task_schedule_to_start_latency_seconds_bucket",
		"temporal_worker_task_slots_available", "temporal_worker_task_slots_used")
	series := regexp.MustCompile(`\b(?:timdesk|temporal)_[a-z_]+`)
	used := map[string]bool{}
	for _, p := range dash.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, q := range p.Targets {
			for _, name := range series.FindAllString(q.Expr, -1) {
				used[name] = true
				if !slices.Contains(exported, name) {
					t.Errorf("panel %q queries %s, which nothing exports", p.Title, name)
				}
			}
		}
	}
	for _, name := range worker {
		if !used[name] {
			t.Errorf("the dashboard does not show %s", name)
		}
	}
	if !strings.Contains(string(raw), `"uid": "timdesk"`) {
		t.Error("dashboard uid changed: links to it break")
	}
}
