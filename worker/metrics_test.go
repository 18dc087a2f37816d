package main

import (
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
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
		"timdesk_callbacks_total", "timdesk_callback_duration_seconds_bucket")
	exported = append(exported, sdkSeries(t)...)
	// Series the dashboard must show besides timdesk's: activity failures, local ones included
	// (Reply, Send, Policy and DetectLanguage are local activities).
	shown := append(slices.Clone(worker), "temporal_activity_execution_failed_total", "temporal_local_activity_execution_failed_total")
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
	for _, name := range shown {
		if !used[name] {
			t.Errorf("the dashboard does not show %s", name)
		}
	}
	if !strings.Contains(string(raw), `"uid": "timdesk"`) {
		t.Error("dashboard uid changed: links to it break")
	}
}

// sdkSeries lists the Prometheus series the Temporal SDK in go.mod can export, read from its
// source (internal/common/metrics/constants.go, every temporal_* name): a timer (the constant's
// name ends in Latency) as name_seconds_bucket/_count/_sum, a gauge (used as .Gauge(metrics.X)
// in the SDK) as name, anything else as a counter name_total.
func sdkSeries(t *testing.T) []string {
	t.Helper()
	// go test puts its own go first on the PATH of the tests it runs.
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "go.temporal.io/sdk").Output()
	if err != nil {
		t.Fatalf("locating the Temporal SDK's source: %v", err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "internal")
	src, err := os.ReadFile(filepath.Join(dir, "common", "metrics", "constants.go"))
	if err != nil {
		t.Fatal(err)
	}
	gauges := map[string]bool{}
	gauge := regexp.MustCompile(`\.Gauge\(metrics\.(\w+)\)`)
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") {
			return err
		}
		b, err := os.ReadFile(path)
		for _, m := range gauge.FindAllSubmatch(b, -1) {
			gauges[string(m[1])] = true
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// Constants are either `X = TemporalMetricsPrefix + "name"` or `X = Y + "_suffix"`.
	value := map[string]string{"TemporalMetricsPrefix": "temporal_"}
	decl := regexp.MustCompile(`(?m)^\s*(\w+)\s*=\s*(\w+)\s*\+\s*"([a-z_]+)"`)
	var series []string
	for _, m := range decl.FindAllStringSubmatch(string(src), -1) {
		base, ok := value[m[2]]
		if !ok {
			continue
		}
		name := base + m[3]
		value[m[1]] = name
		switch {
		case strings.HasSuffix(m[1], "Latency"):
			series = append(series, name+"_seconds_bucket", name+"_seconds_count", name+"_seconds_sum")
		case gauges[m[1]]:
			series = append(series, name)
		default:
			series = append(series, name+"_total")
		}
	}
	for _, want := range []string{"temporal_local_activity_execution_failed_total", "temporal_worker_task_slots_available",
		"temporal_activity_schedule_to_start_latency_seconds_bucket"} {
		if !slices.Contains(series, want) {
			t.Fatalf("reading the SDK's metric names found no %s (its source changed shape?): %v", want, series)
		}
	}
	return series
}
