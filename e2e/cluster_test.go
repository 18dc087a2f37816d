package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Cluster mode: with TIMDESK_E2E_CLUSTER=1 (`make test-cluster`, part of `make test`) every e2e test
// runs against the production topology instead of the CLI dev server: the Temporal server on
// PostgreSQL with deploy/temporal's config, schema script and registration script (what `make
// cluster` and the Kubernetes manifests use), two workers and two API replicas, and the callback
// proxy (deploy/proxy) in front of the replicas. The TestCluster* tests run only in this mode.

// clusterMode reports whether the e2e tests run against the production topology.
func clusterMode() bool { return os.Getenv("TIMDESK_E2E_CLUSTER") != "" }

// clusterInfo is what a cluster stack needs to (re)start its Temporal server.
type clusterInfo struct {
	root      string
	server    string   // temporal-server binary
	serverEnv []string // TEMPORAL_* for the server config
}

// requireCluster skips a cluster-only test outside cluster mode.
func requireCluster(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	if !clusterMode() {
		t.Skip("cluster e2e: runs with TIMDESK_E2E_CLUSTER=1 (make test-cluster)")
	}
}

// missing skips the test locally and fails it in CI, with how to get what is missing.
func missing(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

// freeLowPorts returns n consecutive loopback ports below 32768 that were free a moment ago:
// PostgreSQL's cluster_membership table stores Temporal's membership ports as smallint.
func freeLowPorts(t *testing.T, n int) int {
	t.Helper()
	for range 100 {
		base := 20000 + rand.IntN(12000-n)
		ok := true
		for p := base; p < base+n && ok; p++ {
			l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
			if err != nil {
				ok = false
				continue
			}
			_ = l.Close()
		}
		if ok {
			return base
		}
	}
	t.Fatalf("no %d free consecutive ports below 32768", n)
	return 0
}

// The Temporal server on PostgreSQL is shared by the cluster tests of one test binary (schema and
// server start cost tens of seconds on 2 cores); each test gets its own namespace, so its desk,
// task queue and consultations are its own. A test that kills the server starts it again; the
// next test finds it running either way.
var shared struct {
	once   sync.Once
	skip   string // why the cluster cannot run here (skip locally, fail in CI)
	err    error
	info   *clusterInfo
	addr   string
	server *process
	dbs    []string
	// namespaces registered up front, concurrently (each takes ~10 s of mostly waiting); a test
	// takes the next one, or registers its own when they are used up.
	namespaces []string
	nsErr      map[string]error
}

// namespacePool is how many namespaces sharedCluster registers up front (the e2e tests that run in
// cluster mode, with room for a few more).
const namespacePool = 8

var clusterSeq atomic.Int64

// sharedCluster makes sure PostgreSQL runs, creates this test binary's databases and schema and
// starts the Temporal server on them, once.
func sharedCluster(t *testing.T) {
	t.Helper()
	shared.once.Do(func() {
		root := repoRoot(t)
		began := time.Now()
		step := func(what string) { t.Logf("cluster: %s after %s", what, time.Since(began).Round(100*time.Millisecond)) }
		for _, tool := range []string{"pg_isready", "psql"} {
			if _, err := exec.LookPath(tool); err != nil {
				shared.skip = fmt.Sprintf("PostgreSQL is not installed (%s not found): apt-get install postgresql (Debian/Ubuntu; 15 or newer), "+
					"or run the e2e tests without TIMDESK_E2E_CLUSTER", tool)
				return
			}
		}
		server, sqlTool := clusterBinary(root, "TIMDESK_TEMPORAL_SERVER", "temporal-server"), clusterBinary(root, "TIMDESK_TEMPORAL_SQL_TOOL", "temporal-sql-tool")
		for _, b := range []string{server, sqlTool} {
			if _, err := os.Stat(b); err != nil {
				shared.skip = fmt.Sprintf("%s not found: `make temporal-server` builds it", b)
				return
			}
		}
		// PostgreSQL running and the role in place: the same script `make cluster` uses.
		if out, err := exec.Command(filepath.Join(root, "deploy", "cluster.sh"), "postgres").CombinedOutput(); err != nil {
			shared.skip = fmt.Sprintf("PostgreSQL is not usable: %v\n%s", err, out)
			return
		}
		db := fmt.Sprintf("timdesk_e2e_%d", os.Getpid())
		shared.dbs = []string{db, db + "_visibility"}
		base := freeLowPorts(t, 10)
		shared.addr = fmt.Sprintf("127.0.0.1:%d", base)
		serverEnv := []string{
			"TEMPORAL_DB=" + db,
			"TEMPORAL_VISIBILITY_DB=" + db + "_visibility",
			"TEMPORAL_SQL_TOOL=" + sqlTool,
			"TEMPORAL_DYNAMIC_CONFIG=" + filepath.Join(root, "deploy", "temporal", "dynamicconfig", "production.yaml"),
			"TEMPORAL_LOG_LEVEL=error",
			fmt.Sprintf("TEMPORAL_FRONTEND_PORT=%d", base),
			fmt.Sprintf("TEMPORAL_HISTORY_PORT=%d", base+1),
			fmt.Sprintf("TEMPORAL_MATCHING_PORT=%d", base+2),
			fmt.Sprintf("TEMPORAL_WORKER_PORT=%d", base+3),
			fmt.Sprintf("TEMPORAL_FRONTEND_MEMBERSHIP_PORT=%d", base+4),
			fmt.Sprintf("TEMPORAL_HISTORY_MEMBERSHIP_PORT=%d", base+5),
			fmt.Sprintf("TEMPORAL_MATCHING_MEMBERSHIP_PORT=%d", base+6),
			fmt.Sprintf("TEMPORAL_WORKER_MEMBERSHIP_PORT=%d", base+7),
			fmt.Sprintf("TEMPORAL_FRONTEND_HTTP_PORT=%d", base+8),
			fmt.Sprintf("TEMPORAL_METRICS_ADDRESS=127.0.0.1:%d", base+9),
		}
		schema := exec.Command(filepath.Join(root, "deploy", "temporal", "schema.sh"))
		schema.Env = append(os.Environ(), serverEnv...)
		if out, err := schema.CombinedOutput(); err != nil {
			shared.err = fmt.Errorf("deploy/temporal/schema.sh: %w\n%s", err, out)
			return
		}
		step("databases and schema")
		shared.info = &clusterInfo{root: root, server: server, serverEnv: serverEnv}
		shared.server, shared.err = startClusterServer(shared.info, shared.addr, temporalCLI(t))
		if shared.err != nil {
			return
		}
		step("Temporal server healthy")
		var wg sync.WaitGroup
		var mu sync.Mutex
		shared.nsErr = map[string]error{}
		for i := 1; i <= namespacePool; i++ {
			ns := fmt.Sprintf("e2e%d", i)
			shared.namespaces = append(shared.namespaces, ns)
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := registerNamespace(root, temporalCLI(t), shared.addr, ns)
				mu.Lock()
				shared.nsErr[ns] = err
				mu.Unlock()
			}()
		}
		wg.Wait()
		step(fmt.Sprintf("%d namespaces and their search attributes registered", namespacePool))
	})
	if shared.skip != "" {
		missing(t, "%s", shared.skip)
	}
	if shared.err != nil {
		t.Fatal(shared.err)
	}
}

// registerNamespace creates namespace ns and timdesk's search attributes with the script `make
// cluster` and the Kubernetes Job run.
func registerNamespace(root, cli, addr, ns string) error {
	reg := exec.Command(filepath.Join(root, "deploy", "register-search-attributes.sh"))
	reg.Env = append(os.Environ(), "TEMPORAL_CLI="+cli, "TEMPORAL_ADDRESS="+addr, "TEMPORAL_NAMESPACE="+ns)
	if out, err := reg.CombinedOutput(); err != nil {
		return fmt.Errorf("deploy/register-search-attributes.sh for %s: %w\n%s", ns, err, out)
	}
	return nil
}

// stopSharedCluster stops the shared server and drops its databases (from TestMain).
func stopSharedCluster() {
	if shared.server == nil {
		return
	}
	shared.server.Stop()
	dropDatabases(shared.dbs...)
}

// clusterBinary is the binary named by env, default ./bin/name.
func clusterBinary(root, env, name string) string {
	if path := os.Getenv(env); path != "" {
		return path
	}
	return filepath.Join(root, "bin", name)
}

// startCluster brings up the production topology for one test and registers its teardown.
func startCluster(t *testing.T, opts stackOptions) *stack {
	t.Helper()
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	root := repoRoot(t)
	cli := temporalCLI(t)
	sharedCluster(t)
	began := time.Now()
	dir := t.TempDir()
	bins, err := buildPrograms(root, dir)
	if err != nil {
		t.Fatal(err)
	}
	s := &stack{
		temporalCLI:  cli,
		temporalAddr: shared.addr,
		adminKey:     "e2e-admin-key-0123456789abcdef-0123",
		llm:          newFakeLLM(t),
		cluster:      shared.info,
		temporal:     shared.server,
	}
	// Whatever the test did to the server, the next one finds it running.
	t.Cleanup(func() {
		if shared.server.Exited() {
			shared.server, shared.err = startClusterServer(shared.info, shared.addr, cli)
		}
	})
	if i := int(clusterSeq.Add(1)); i <= len(shared.namespaces) {
		s.namespace = shared.namespaces[i-1]
		if err := shared.nsErr[s.namespace]; err != nil {
			t.Fatal(err)
		}
	} else {
		s.namespace = fmt.Sprintf("e2e%d", i)
		if err := registerNamespace(root, cli, s.temporalAddr, s.namespace); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("cluster: namespace %s after %s", s.namespace, time.Since(began).Round(100*time.Millisecond))

	simPort, proxyPort, api1, api2, metrics1, metrics2 := freePort(t), freePort(t), freePort(t), freePort(t), freePort(t), freePort(t)
	s.simURL = fmt.Sprintf("http://127.0.0.1:%d", simPort)
	s.apiURL = fmt.Sprintf("http://127.0.0.1:%d", proxyPort) // Tencent's one callback address
	s.metricsURL = fmt.Sprintf("http://127.0.0.1:%d/metrics", metrics1)
	s.moreMetricsURLs = []string{fmt.Sprintf("http://127.0.0.1:%d/metrics", metrics2)}
	// Each worker serves its metrics on its own port; s.env (what restart uses) is the first one's.
	s.env = append(s.programEnv(t, root, dir, opts, simPort, s.apiURL+"/tim/callback"), fmt.Sprintf("TIMDESK_WORKER_METRICS_LISTEN=127.0.0.1:%d", metrics1))
	// The first replica of each program keeps the dev-server name, so the suite's restart("worker")
	// restarts one of two workers.
	s.procEnv = map[string][]string{
		"worker-2": {fmt.Sprintf("TIMDESK_WORKER_METRICS_LISTEN=127.0.0.1:%d", metrics2)},
		"api":      {fmt.Sprintf("TIMDESK_LISTEN=127.0.0.1:%d", api1)},
		"api-2":    {fmt.Sprintf("TIMDESK_LISTEN=127.0.0.1:%d", api2)},
		"proxy": {fmt.Sprintf("PROXY_LISTEN=127.0.0.1:%d", proxyPort),
			fmt.Sprintf("PROXY_BACKENDS=http://127.0.0.1:%d,http://127.0.0.1:%d", api1, api2)},
	}
	s.bins = map[string]string{"worker-2": bins["worker"], "api-2": bins["api"]}
	for name, bin := range bins {
		s.bins[name] = bin
	}
	s.startPrograms(t, "timsim", "worker", "worker-2", "api", "api-2", "proxy")
	wctx, wcancel := context.WithTimeout(context.Background(), time.Minute)
	defer wcancel()
	for _, u := range []string{fmt.Sprintf("http://127.0.0.1:%d/healthz", api1), fmt.Sprintf("http://127.0.0.1:%d/healthz", api2),
		s.apiURL + "/healthz", s.simURL + "/"} {
		if err := waitHTTP(wctx, u, s.procs...); err != nil {
			t.Fatal(err)
		}
	}
	s.waitAccountsImported(t)
	t.Logf("cluster: replicas and proxy serving after %s", time.Since(began).Round(100*time.Millisecond))
	return s
}

// startClusterServer starts the Temporal server (all services in one process) on the shared
// databases and waits until it serves.
func startClusterServer(c *clusterInfo, addr, cli string) (*process, error) {
	args := []string{"--root", filepath.Join(c.root, "deploy", "temporal"), "--config", "config", "--env", "production",
		"--allow-no-auth", "start"}
	p, err := startProcessArgs("temporal", c.server, args, c.serverEnv)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(time.Minute)
	for {
		if p.Exited() {
			return nil, fmt.Errorf("temporal exited: %w\n%s", p.err, tail(p.Output(), 40))
		}
		out, err := exec.Command(cli, "operator", "cluster", "health", "--address", addr).CombinedOutput()
		if err == nil {
			return p, nil
		}
		if time.Now().After(deadline) {
			p.Stop()
			return nil, fmt.Errorf("Temporal server not healthy within a minute: %w: %s\n%s", err, out, tail(p.Output(), 40))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// restartClusterServer starts the shared server again after a test killed it.
func (s *stack) restartClusterServer(t *testing.T) {
	t.Helper()
	p, err := startClusterServer(s.cluster, s.temporalAddr, s.temporalCLI)
	if err != nil {
		t.Fatal(err)
	}
	shared.server, s.temporal = p, p
}

// dropDatabases removes the cluster tests' databases (after their server stopped).
func dropDatabases(names ...string) {
	for _, name := range names {
		cmd := exec.Command("psql", "-qAt", "-h", envOr("TEMPORAL_DB_HOST", "127.0.0.1"), "-p", envOr("TEMPORAL_DB_PORT", "5432"),
			"-U", envOr("TEMPORAL_DB_USER", "temporal"), "-d", "postgres", "-c", fmt.Sprintf(`DROP DATABASE IF EXISTS "%s" WITH (FORCE)`, name))
		cmd.Env = append(os.Environ(), "PGPASSWORD="+envOr("TEMPORAL_DB_PASSWORD", "temporal"))
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "drop database %s: %v\n%s", name, err, out)
		}
	}
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// replicaURL is the base URL of one API replica (api or api-2), bypassing the proxy.
func (s *stack) replicaURL(t *testing.T, name string) string {
	t.Helper()
	addr := ""
	for _, kv := range s.proc(t, name).cmd.Env {
		if v, ok := strings.CutPrefix(kv, "TIMDESK_LISTEN="); ok {
			addr = v // the last one wins, as in the program's environment
		}
	}
	if addr == "" {
		t.Fatalf("%s has no TIMDESK_LISTEN", name)
	}
	return "http://" + addr
}
