// Command timdesk-api serves the Tencent IM callback endpoint, the UserSig endpoint, the admin
// API, health checks and Prometheus metrics. Configuration comes from TIMDESK_* environment
// variables (see config.go).
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
	err := run(ctx, os.Getenv, os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "timdesk-api:", err)
		os.Exit(1)
	}
}
