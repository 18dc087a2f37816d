// Package temporalenv loads the Temporal client connection (address, namespace, API key, TLS) from
// the environment for timdesk's programs: Temporal's own client variables through
// go.temporal.io/sdk/contrib/envconfig, with an injected getenv and timdesk's defaults.
package temporalenv

import (
	"errors"
	"fmt"
	"strings"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/contrib/envconfig"
)

// Defaults filled in when neither the environment nor a profile names them.
const (
	DefaultAddress   = "localhost:7233"
	DefaultNamespace = "default"
)

// Load returns the Temporal client options the way envconfig.LoadDefaultClientOptions does (the
// optional TOML profile of TEMPORAL_CONFIG_FILE/TEMPORAL_PROFILE, then TEMPORAL_* variables such
// as TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY and TEMPORAL_TLS_*), but reading
// through getenv, and fills DefaultAddress and DefaultNamespace. A variable counts as set when it
// is not blank; TEMPORAL_GRPC_META_* are not read (getenv cannot list variables). Errors name the
// variables, never their values. The caller adds its logger and metrics handler.
func Load(getenv func(string) string) (client.Options, error) {
	env := envLookup(getenv)
	var problems []string
	for _, key := range []string{"TEMPORAL_TLS", "TEMPORAL_TLS_DISABLE_HOST_VERIFICATION"} {
		if v, ok := env.LookupEnv(key); ok {
			switch strings.ToLower(v) {
			case "1", "0", "true", "false":
			default:
				problems = append(problems, key+" must be true or false")
			}
		}
	}
	if len(problems) > 0 {
		return client.Options{}, errors.New(strings.Join(problems, "; "))
	}
	opts, err := envconfig.LoadClientOptions(envconfig.LoadClientOptionsRequest{EnvLookup: env})
	if err != nil {
		return client.Options{}, fmt.Errorf("temporal connection (TEMPORAL_* or TEMPORAL_CONFIG_FILE): %w", err)
	}
	if opts.HostPort == "" {
		opts.HostPort = DefaultAddress
	}
	if opts.Namespace == "" {
		opts.Namespace = DefaultNamespace
	}
	return opts, nil
}

// envLookup adapts a getenv function to envconfig.EnvLookup.
type envLookup func(string) string

// LookupEnv reports a variable as set when its value is not blank.
func (e envLookup) LookupEnv(key string) (string, bool) {
	v := strings.TrimSpace(e(key))
	return v, v != ""
}

// Environ lists nothing: getenv cannot enumerate (envconfig only needs it for TEMPORAL_GRPC_META_*).
func (e envLookup) Environ() []string { return nil }

// DevServerArgs are the extra `temporal server start-dev` flags of `make run` (deploy/dev.sh keeps
// the same list) and of every test that starts a dev server: eager activity execution, off by
// default in Temporal, lets a worker that completes a workflow task start the activities it just
// scheduled at once instead of through a task queue poll. Clusters set the same dynamic config key
// (system.enableActivityEagerExecution: true) in their dynamic config file.
var DevServerArgs = []string{"--dynamic-config-value", "system.enableActivityEagerExecution=true"}
