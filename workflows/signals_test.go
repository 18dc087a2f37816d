package workflows

import (
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"
)

// pumpTestWorkflow pumps signal "s" while the main coroutine sleeps, then drains what is left,
// as the consultation and desk workflows do before continue-as-new.
func pumpTestWorkflow(ctx workflow.Context) (string, error) {
	ch := workflow.GetSignalChannel(ctx, "s")
	var got []string
	pumpSignals(ctx, ch, func(v string) { got = append(got, v) })
	if err := workflow.Sleep(ctx, time.Minute); err != nil {
		return "", err
	}
	receiveAsync(ch, func(v string) { got = append(got, "drained:"+v) })
	return strings.Join(got, ","), nil
}

// TestPumpSignalsLosesNothing: signals delivered without a workflow task just before the main
// coroutine wakes up are still in the channel for the drain (a coroutine blocked in Receive would
// have taken the first one and never handled it).
func TestPumpSignalsLosesNothing(t *testing.T) {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(pumpTestWorkflow)
	env.RegisterDelayedCallback(func() { env.SignalWorkflow("s", "a") }, 10*time.Second)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflowSkippingWorkflowTask("s", "b")
		env.SignalWorkflowSkippingWorkflowTask("s", "c")
	}, 30*time.Second)
	env.ExecuteWorkflow(pumpTestWorkflow)
	var got string
	if err := env.GetWorkflowResult(&got); err != nil {
		t.Fatal(err)
	}
	if got != "a,drained:b,drained:c" {
		t.Errorf("got %s, want a,drained:b,drained:c", got)
	}
}
