// Command timdesk-worker runs the Temporal worker for timdesk: the consultation and desk
// workflows and their activities (LLM, Tencent IM, routing). Configuration is by environment
// (see Config); it stops gracefully on SIGINT or SIGTERM.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "timdesk-worker:", err)
		stop()
		os.Exit(1)
	}
}
