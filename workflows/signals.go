package workflows

import "go.temporal.io/sdk/workflow"

// pumpSignals runs a coroutine that hands every signal of ch to accept, in order, until the run
// ends. It waits on the channel's length and takes values with ReceiveAsync instead of blocking
// in Receive: a coroutine blocked in Receive takes a signal the moment it is delivered but runs
// accept only on its next turn, so a continue-as-new decided by the main coroutine in between
// would drop that signal (the drain before continue-as-new cannot see it). With this pump a
// signal is either still in the channel, where drainSignals finds it, or already accepted.
func pumpSignals[T any](ctx workflow.Context, ch workflow.ReceiveChannel, accept func(T)) {
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			if err := workflow.Await(ctx, func() bool { return ch.Len() > 0 }); err != nil {
				return // the run is ending
			}
			receiveAsync(ch, accept)
		}
	})
}

// receiveAsync hands every signal buffered in ch to accept, in order, without blocking.
func receiveAsync[T any](ch workflow.ReceiveChannel, accept func(T)) {
	for {
		var v T
		if !ch.ReceiveAsync(&v) {
			return
		}
		accept(v)
	}
}
