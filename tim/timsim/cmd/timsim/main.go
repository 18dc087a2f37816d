// Command timsim runs the local Tencent IM emulator (package timsim): the REST API at Tencent's
// paths, callbacks to TIMSIM_CALLBACK_URL, the simulated-client API under /sim/ and the chat page
// at /. Configuration is by environment; see config.go.
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
		fmt.Fprintln(os.Stderr, "timsim:", err)
		os.Exit(1)
	}
}
