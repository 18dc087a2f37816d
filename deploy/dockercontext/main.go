// Command dockercontext lists what `docker build .` would send to the daemon (the repository minus
// .dockerignore, matched with Docker's own pattern rules) and fails when a secret or a bulky local
// folder (bin/, .data/, .git/, node_modules, *.env, keys) would be in it. It needs no Docker engine:
// `make docker-context` runs it, and `make docker` runs it before building.
package main

import (
	"fmt"
	"os"
)

func main() {
	root := "."
	if len(os.Args) > 1 {
		root = os.Args[1]
	}
	if err := run(root, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "docker-context:", err)
		os.Exit(1)
	}
}
