package deploy

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"net/netip"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/timdesk/timdesk/internal/temporalenv"
)

// The manifests are checked as the orchestrators would read them, without Docker or kubectl: every
// container of deploy/docker-compose.yml and of the Kubernetes objects deploy/kustomization.yaml
// applies becomes a container value (its command, the variables it sets, what it mounts where,
// its probes), and each check below reads those against deploy/cluster.sh and the programs' source.

// shippedFiles are the Temporal files deploy/cluster.sh runs (relative to deploy/), with the words
// that run them there. Compose and Kubernetes must run the very same files.
var shippedFiles = []struct{ file, inClusterSh string }{
	{"temporal/config/production.yaml", `--root "$root/deploy/temporal" --config config --env production`},
	{"temporal/dynamicconfig/production.yaml", `$root/deploy/temporal/dynamicconfig/production.yaml`},
	{"temporal/schema.sh", `"$root/deploy/temporal/schema.sh"`},
	{"register-search-attributes.sh", `"$root/deploy/register-search-attributes.sh"`},
}

const (
	serverConfig  = "temporal/config/production.yaml"
	dynamicConfig = "temporal/dynamicconfig/production.yaml"
	schemaScript  = "temporal/schema.sh"
	registerSA    = "register-search-attributes.sh"
)

// checkedPrefixes are the variables whose names must be read by the program a container runs.
var checkedPrefixes = []string{"TIMDESK_", "TEMPORAL_", "PROXY_"}

// container is one container of either topology.
type container struct {
	where    string            // "compose service timdesk-api-1", "k8s Deployment/timdesk-api container api"
	kind     string            // k8s kind of its workload ("Deployment", "Job"); "compose" for compose
	workload string            // compose service or k8s object name
	init     bool              // a Kubernetes init container
	image    string            // image ("" when compose builds it)
	command  []string          // entrypoint or command, then args
	env      map[string]string // variables set explicitly (values from secrets/fields are "")
	envFrom  []string          // where the rest come from: "secret NAME", "configMap NAME" (k8s envFrom), "file NAME" (compose env_file)
	replicas int               // replicas of its workload (1 when the manifest says none)
	annots   map[string]string // annotations of its pod template (k8s)
	mounts   []mount
	ports    map[string]int // named container ports
	publish  []string       // compose ports published on the host ("[IP:]HOST:CONTAINER")
	ready    *probe
	live     *probe
}

// mount is a path inside a container and what it shows: a file or folder under deploy/ (compose
// bind mounts), or the keys of a ConfigMap, each a file under deploy/ or inline data ("").
type mount struct {
	path  string
	host  string
	files map[string]string
}

// probe is an HTTP probe (path and port, a port name or number); a TCP probe has no path.
type probe struct{ path, port string }

// deployment is what the checks read: both topologies and the files around them.
type deployment struct {
	root, dir  string // repository root (program sources) and the deploy folder checked
	compose    []container
	k8s        []container
	services   map[string]map[int]bool // k8s Service name → ports
	composeSvc map[string]bool         // compose service names
	dependsOn  map[string]map[string]string
	subnets    []string // subnets of compose's default network
	kustFiles  []string // files kustomization.yaml references (relative to dir)
}

// problems collects what a check finds.
type problems []string

func (p *problems) add(format string, args ...any) { *p = append(*p, fmt.Sprintf(format, args...)) }

// checks are run on the real deploy folder (TestManifests) and on broken copies
// (TestManifestChecksCatchMistakes).
var checks = []struct {
	name string
	run  func(d *deployment, p *problems)
}{
	{"kustomization references existing files", checkKustomization},
	{"cluster.sh, compose and k8s run the same Temporal files", checkShippedFiles},
	{"api and worker probes point at served paths", checkProbes},
	{"search-attribute registration is a Job", checkRegistrationJob},
	{"every variable a manifest sets is read", checkEnvRead},
	{"timdesk.env.example variables are read", checkEnvExample},
	{"Temporal addresses name a service", checkAddresses},
	{"the workers' sends fit Tencent's quota", checkSendRate},
	{"Prometheus scrapes the API and the workers", checkScrape},
	{"search attributes go to the programs' namespace", checkRegistrationNamespace},
	{"the API believes the compose proxy's X-Forwarded-For", checkTrustedProxies},
	{"compose publishes only the proxy beyond loopback", checkPublishedPorts},
}

func TestManifests(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	d, err := loadDeployment(root, filepath.Join(root, "deploy"))
	if err != nil {
		t.Fatal(err)
	}
	if len(d.compose) < 8 || len(d.k8s) < 6 {
		t.Fatalf("read %d compose and %d k8s containers; the manifests have more", len(d.compose), len(d.k8s))
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			var p problems
			c.run(d, &p)
			for _, msg := range p {
				t.Error(msg)
			}
		})
	}
}

// TestManifestChecksCatchMistakes breaks a copy of deploy/ one mistake at a time and expects the
// checks to name it: each check can fail.
func TestManifestChecksCatchMistakes(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, file, old, new, want string
	}{
		{"typo in a k8s variable", "k8s/timdesk.yaml", "{name: TIMDESK_WORKER_LISTEN,", "{name: TIMDESK_WORKER_LISTN,", "sets TIMDESK_WORKER_LISTN, which worker never reads"},
		{"typo in a compose variable", "docker-compose.yml", "TEMPORAL_DYNAMIC_CONFIG: /etc", "TEMPORAL_DYNAMIC_CONFG: /etc", "TEMPORAL_DYNAMIC_CONFG"},
		{"typo in a script's variable", "k8s/temporal.yaml", "{name: TEMPORAL_ADDRESS, value:", "{name: TEMPORAL_ADRESS, value:", "TEMPORAL_ADRESS"},
		{"readiness on a path the API does not serve", "k8s/timdesk.yaml", "readinessProbe: {httpGet: {path: /readyz, port: http}", "readinessProbe: {httpGet: {path: /ready, port: http}", "probe on /ready, which api/health.go does not serve"},
		{"liveness on readiness", "k8s/timdesk.yaml", "livenessProbe: {httpGet: {path: /healthz, port: probes}", "livenessProbe: {httpGet: {path: /readyz, port: probes}", "liveness"},
		{"probe port not the program's", "k8s/timdesk.yaml", "{name: TIMDESK_WORKER_LISTEN, value: \":9090\"}", "{name: TIMDESK_WORKER_LISTEN, value: \":9091\"}", "9091"},
		{"no worker probe", "k8s/timdesk.yaml", "          readinessProbe: {httpGet: {path: /readyz, port: probes}, periodSeconds: 5}\n", "", "no readiness"},
		{"registration not a Job", "k8s/temporal.yaml", "kind: Job", "kind: Pod", "Job"},
		{"missing generator file", "kustomization.yaml", "register-search-attributes.sh]", "register-search-attribute.sh]", "register-search-attribute.sh"},
		{"missing resource", "kustomization.yaml", "  - k8s/timdesk.yaml", "  - k8s/timdesk.yml", "k8s/timdesk.yml"},
		{"compose dynamic config mounted elsewhere", "docker-compose.yml", "./temporal/dynamicconfig:/etc/temporal/dynamicconfig:ro", "./temporal/dynamicconfig:/etc/temporal/dynamic:ro", dynamicConfig},
		{"k8s server config mounted elsewhere", "k8s/temporal.yaml", "mountPath: /etc/temporal/config}", "mountPath: /etc/temporal/conf}", serverConfig},
		{"compose runs another schema script", "docker-compose.yml", "./temporal/schema.sh:/schema.sh:ro", "./register-search-attributes.sh:/schema.sh:ro", schemaScript},
		{"cluster.sh runs another script", "cluster.sh", `"$root/deploy/temporal/schema.sh"`, `"$root/deploy/temporal/schema2.sh"`, "cluster.sh"},
		{"env example typo", "timdesk.env.example", "TIMDESK_TASK_QUEUE=", "TIMDESK_TASKQUEUE=", "TIMDESK_TASKQUEUE"},
		{"address of no service", "k8s/temporal.yaml", `value: "temporal-frontend:7233"`, `value: "temporal-frontnd:7233"`, "temporal-frontnd"},
		{"k8s send rate over the quota", "k8s/timdesk.yaml", `{name: TIMDESK_SEND_RATE, value: "100"}`, `{name: TIMDESK_SEND_RATE, value: "150"}`, "300 sends/s"},
		{"compose send rate unset", "docker-compose.yml", "      TIMDESK_SEND_RATE: \"100\"\n", "", "sets no TIMDESK_SEND_RATE"},
		{"compose workers scaled, rate not", "docker-compose.yml", "deploy: {replicas: 2}", "deploy: {replicas: 3}", "300 sends/s"},
		{"k8s send rate unpaced", "k8s/timdesk.yaml", `{name: TIMDESK_SEND_RATE, value: "100"}`, `{name: TIMDESK_SEND_RATE, value: "0"}`, "unpaced"},
		{"API pod not scraped", "k8s/timdesk.yaml", "      annotations: {prometheus.io/scrape: \"true\", prometheus.io/port: \"8080\", prometheus.io/path: /metrics}\n", "", "Deployment/timdesk-api container api: pod annotation prometheus.io/scrape"},
		{"API scraped on the wrong port", "k8s/timdesk.yaml", `prometheus.io/port: "8080"`, `prometheus.io/port: "9090"`, "prometheus.io/port is \"9090\""},
		{"worker scraped on the wrong path", "k8s/timdesk.yaml", `prometheus.io/port: "9464", prometheus.io/path: /metrics`, `prometheus.io/port: "9464", prometheus.io/path: /metric`, "prometheus.io/path is \"/metric\""},
		{"k8s Job hardcodes the namespace", "k8s/temporal.yaml", "{name: TEMPORAL_ADDRESS, value: \"temporal-frontend:7233\"}", "{name: TEMPORAL_ADDRESS, value: \"temporal-frontend:7233\"}\n            - {name: TEMPORAL_NAMESPACE, value: default}", "Job/register-search-attributes container register: namespace from TEMPORAL_NAMESPACE=default"},
		{"k8s init container without the secret", "k8s/timdesk.yaml", "envFrom: [{secretRef: {name: timdesk}}]\n          env:\n            - {name: TEMPORAL_ADDRESS, value: \"temporal-frontend:7233\"}\n          volumeMounts: [{name: scripts", "env:\n            - {name: TEMPORAL_ADDRESS, value: \"temporal-frontend:7233\"}\n          volumeMounts: [{name: scripts", "container search-attributes: namespace from the default"},
		{"compose registration without the env file", "docker-compose.yml", "    env_file: timdesk.env\n    environment:\n      TEMPORAL_ADDRESS: temporal:7233\n    entrypoint: [\"bash\", \"/register.sh\"]", "    environment:\n      TEMPORAL_ADDRESS: temporal:7233\n    entrypoint: [\"bash\", \"/register.sh\"]", "compose service register-search-attributes: namespace from the default"},
		{"compose API trusts no proxy", "docker-compose.yml", "      TIMDESK_TRUSTED_PROXIES: *subnet\n", "", "compose service timdesk-api-1 sets no TIMDESK_TRUSTED_PROXIES"},
		{"compose API trusts another network", "docker-compose.yml", "TIMDESK_TRUSTED_PROXIES: *subnet", "TIMDESK_TRUSTED_PROXIES: 10.1.0.0/16", "does not cover"},
		{"compose network without a fixed subnet", "docker-compose.yml", "    ipam: {config: [{subnet: *subnet}]}\n", "    driver: bridge\n", "no fixed subnet"},
		{"Temporal's frontend public", "docker-compose.yml", `ports: ["127.0.0.1:8233:8080"]`, `ports: ["8233:8080"]`, "compose service temporal-ui publishes \"8233:8080\" on every interface"},
		{"worker does not wait for registration", "docker-compose.yml", "register-search-attributes: {condition: service_completed_successfully}", "temporal: {condition: service_started}", "register-search-attributes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.CopyFS(dir, os.DirFS(filepath.Join(root, "deploy"))); err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(dir, tt.file)
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(b), tt.old) {
				t.Fatalf("%s no longer contains %q: update this mistake", tt.file, tt.old)
			}
			if err := os.WriteFile(file, []byte(strings.Replace(string(b), tt.old, tt.new, 1)), 0o600); err != nil {
				t.Fatal(err)
			}
			var all problems
			d, err := loadDeployment(root, dir)
			if err != nil {
				all.add("%v", err)
			} else {
				for _, c := range checks {
					c.run(d, &all)
				}
			}
			if !slices.ContainsFunc(all, func(p string) bool { return strings.Contains(p, tt.want) }) {
				t.Errorf("the mistake went unnoticed: no problem mentions %q; problems: %q", tt.want, all)
			}
		})
	}
}

// ---- the checks ----

func checkKustomization(d *deployment, p *problems) {
	if len(d.kustFiles) == 0 {
		p.add("kustomization.yaml references no files")
	}
	for _, f := range d.kustFiles {
		if _, err := os.Stat(filepath.Join(d.dir, f)); err != nil {
			p.add("kustomization.yaml references %s, which does not exist", f)
		}
	}
}

func checkShippedFiles(d *deployment, p *problems) {
	clusterSh, err := os.ReadFile(filepath.Join(d.dir, "cluster.sh"))
	if err != nil {
		p.add("cluster.sh: %v", err)
	}
	for _, f := range shippedFiles {
		if !strings.Contains(string(clusterSh), f.inClusterSh) {
			p.add("cluster.sh no longer runs %s (%s)", f.file, f.inClusterSh)
		}
	}
	for _, topo := range []struct {
		name       string
		containers []container
	}{{"compose", d.compose}, {"k8s", d.k8s}} {
		var server, schema, register bool
		for _, c := range topo.containers {
			switch prog := c.program(); prog {
			case "temporal-server":
				server = true
				cfg, ok := c.serverConfigFile()
				if !ok || cfg != serverConfig {
					p.add("%s: the server's config (--root/--config/--env) is %q, not %s", c.where, cfg, serverConfig)
				}
				dyn, ok := c.resolve(c.env["TEMPORAL_DYNAMIC_CONFIG"])
				if !ok || dyn != dynamicConfig {
					p.add("%s: TEMPORAL_DYNAMIC_CONFIG %q does not show %s (mounted: %q)", c.where, c.env["TEMPORAL_DYNAMIC_CONFIG"], dynamicConfig, dyn)
				}
			case "script " + schemaScript:
				schema = true
			case "script " + registerSA:
				register = true
			}
		}
		for _, missing := range []struct {
			ok   bool
			file string
		}{{server, serverConfig}, {schema, schemaScript}, {register, registerSA}} {
			if !missing.ok {
				p.add("%s: no container runs %s", topo.name, missing.file)
			}
		}
	}
}

// programProbes are the programs with probes: where their sources serve them and which variable
// says the port.
var programProbes = []struct {
	program, source, listenVar string
}{
	{"api", "api/health.go", "TIMDESK_LISTEN"},
	{"worker", "worker/health.go", "TIMDESK_WORKER_LISTEN"},
}

func checkProbes(d *deployment, p *problems) {
	for _, pp := range programProbes {
		served, err := servedPaths(filepath.Join(d.root, pp.source))
		if err != nil {
			p.add("%v", err)
			continue
		}
		for _, want := range []string{"/readyz", "/healthz"} {
			if !served[want] {
				p.add("%s no longer serves %s", pp.source, want)
			}
		}
		found := false
		for _, c := range d.k8s {
			if c.program() != pp.program || c.init {
				continue
			}
			found = true
			_, port, err := splitPort(c.env[pp.listenVar])
			if err != nil {
				p.add("%s: %s %q: %v", c.where, pp.listenVar, c.env[pp.listenVar], err)
			}
			for _, pr := range []struct {
				name string
				pr   *probe
				want string
			}{{"readiness", c.ready, "/readyz"}, {"liveness", c.live, "/healthz"}} {
				switch {
				case pr.pr == nil || pr.pr.path == "":
					p.add("%s: no %s HTTP probe", c.where, pr.name)
				case !served[pr.pr.path]:
					p.add("%s: %s probe on %s, which %s does not serve", c.where, pr.name, pr.pr.path, pp.source)
				case pr.pr.path != pr.want:
					p.add("%s: %s probe on %s, want %s", c.where, pr.name, pr.pr.path, pr.want)
				default:
					if got := c.portNumber(pr.pr.port); got != port {
						p.add("%s: %s probe on port %s (%d), but %s serves on %d", c.where, pr.name, pr.pr.port, got, pp.listenVar, port)
					}
				}
			}
		}
		if !found {
			p.add("k8s: no container runs the %s", pp.program)
		}
	}
}

func checkRegistrationJob(d *deployment, p *problems) {
	job := false
	for _, c := range d.k8s {
		if c.program() == "script "+registerSA && c.kind == "Job" {
			job = true
		}
	}
	if !job {
		p.add("k8s: no Job runs %s", registerSA)
	}
	// Workers start only once the attributes exist: an init container in k8s, a completed
	// dependency in compose.
	for _, c := range d.k8s {
		if c.program() == "worker" && !slices.ContainsFunc(d.k8s, func(o container) bool {
			return o.workload == c.workload && o.init && o.program() == "script "+registerSA
		}) {
			p.add("%s: its pod does not run %s first (init container)", c.where, registerSA)
		}
	}
	for _, c := range d.compose {
		if c.program() != "worker" {
			continue
		}
		ok := false
		for dep, cond := range d.dependsOn[c.workload] {
			if cond != "service_completed_successfully" {
				continue
			}
			for _, o := range d.compose {
				ok = ok || (o.workload == dep && o.program() == "script "+registerSA)
			}
		}
		if !ok {
			p.add("%s: does not depend on the %s service completing", c.where, registerSA)
		}
	}
}

func checkEnvRead(d *deployment, p *problems) {
	for _, c := range append(slices.Clone(d.compose), d.k8s...) {
		prog := c.program()
		if prog == "" {
			continue // a third-party image's own entrypoint (PostgreSQL, the Temporal UI)
		}
		read, err := d.varsRead(c)
		if err != nil {
			p.add("%s: %v", c.where, err)
			continue
		}
		for name := range c.env {
			if checked(name) && !read[name] {
				p.add("%s sets %s, which %s never reads", c.where, name, prog)
			}
		}
	}
}

func checkEnvExample(d *deployment, p *problems) {
	b, err := os.ReadFile(filepath.Join(d.dir, "timdesk.env.example"))
	if err != nil {
		p.add("%v", err)
		return
	}
	read := map[string]bool{}
	for _, prog := range []string{"api", "worker"} {
		r, err := d.programVars(prog)
		if err != nil {
			p.add("%v", err)
			return
		}
		for k := range r {
			read[k] = true
		}
	}
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "#"))
		name, _, ok := strings.Cut(line, "=")
		if ok && checked(name) && !strings.Contains(name, " ") && !read[name] {
			p.add("timdesk.env.example sets %s, which neither the api nor the worker reads", name)
		}
	}
}

func checkAddresses(d *deployment, p *problems) {
	for _, c := range append(slices.Clone(d.compose), d.k8s...) {
		addr, ok := c.env["TEMPORAL_ADDRESS"]
		if !ok {
			continue
		}
		host, port, err := splitPort(addr)
		switch {
		case err != nil:
			p.add("%s: TEMPORAL_ADDRESS %q: %v", c.where, addr, err)
		case c.kind == "compose" && !d.composeSvc[host]:
			p.add("%s: TEMPORAL_ADDRESS %q names no compose service", c.where, addr)
		case c.kind != "compose" && !d.services[host][port]:
			p.add("%s: TEMPORAL_ADDRESS %q names no k8s Service port", c.where, addr)
		}
	}
}

// quotaSource holds the per-app sendmsg quota the worker defaults to (worker/config.go).
const quotaSource, quotaConst = "worker/config.go", "DefaultSendRate"

// checkSendRate: each worker paces its own sends (TIMDESK_SEND_RATE), so every worker spec sets it
// and its replicas together stay within Tencent's per-app quota (the program's default rate).
func checkSendRate(d *deployment, p *problems) {
	quota, err := intConst(filepath.Join(d.root, quotaSource), quotaConst)
	if err != nil {
		p.add("%v", err)
		return
	}
	for _, c := range append(slices.Clone(d.compose), d.k8s...) {
		if c.program() != "worker" || c.init {
			continue
		}
		raw, ok := c.env["TIMDESK_SEND_RATE"]
		if !ok {
			p.add("%s sets no TIMDESK_SEND_RATE: each of its %d replicas would send %d/s, Tencent's whole quota", c.where, c.replicas, quota)
			continue
		}
		rate, err := strconv.ParseFloat(raw, 64)
		switch {
		case err != nil || rate < 0:
			p.add("%s: TIMDESK_SEND_RATE %q is not a number of sends per second", c.where, raw)
		case rate == 0:
			p.add("%s: TIMDESK_SEND_RATE 0 leaves the workers unpaced; set %d divided by its %d replicas", c.where, quota, c.replicas)
		case float64(c.replicas)*rate > float64(quota):
			p.add("%s: %d replicas × TIMDESK_SEND_RATE %s = %g sends/s, over Tencent's quota of %d/s (%s %s)",
				c.where, c.replicas, raw, float64(c.replicas)*rate, quota, quotaSource, quotaConst)
		}
	}
}

// programMetrics are the programs Prometheus scrapes: where they serve GET /metrics and which
// variable says the port (with the program's default).
var programMetrics = []struct {
	program, source, listenVar, listenDefault string
}{
	{"api", "api/health.go", "TIMDESK_LISTEN", ":8080"},
	{"worker", "worker/metrics.go", "TIMDESK_WORKER_METRICS_LISTEN", ":9464"},
}

// checkScrape: the pods of the API and the workers carry the prometheus.io annotations the
// dashboard's series come through, on the port and path the program serves its metrics.
func checkScrape(d *deployment, p *problems) {
	for _, pm := range programMetrics {
		served, err := servedPaths(filepath.Join(d.root, pm.source))
		if err != nil {
			p.add("%v", err)
			continue
		}
		if !served["/metrics"] {
			p.add("%s no longer serves /metrics", pm.source)
		}
		for _, c := range d.k8s {
			if c.program() != pm.program || c.init {
				continue
			}
			listen, ok := c.env[pm.listenVar]
			if !ok {
				listen = pm.listenDefault
			}
			_, port, err := splitPort(listen)
			if err != nil {
				p.add("%s: %s %q: %v", c.where, pm.listenVar, listen, err)
				continue
			}
			if v := c.annots["prometheus.io/scrape"]; v != "true" {
				p.add("%s: pod annotation prometheus.io/scrape is %q, want \"true\"", c.where, v)
			}
			if v := c.annots["prometheus.io/port"]; v != strconv.Itoa(port) {
				p.add("%s: pod annotation prometheus.io/port is %q, but %s serves /metrics on %d", c.where, v, pm.listenVar, port)
			}
			if v := c.annots["prometheus.io/path"]; v != "/metrics" {
				p.add("%s: pod annotation prometheus.io/path is %q, want /metrics (%s)", c.where, v, pm.source)
			}
		}
	}
}

// namespaceSource is where a container's TEMPORAL_NAMESPACE comes from.
func (c container) namespaceSource() string {
	if v, ok := c.env["TEMPORAL_NAMESPACE"]; ok {
		return "TEMPORAL_NAMESPACE=" + v
	}
	if len(c.envFrom) == 0 {
		return "the default"
	}
	from := slices.Clone(c.envFrom)
	sort.Strings(from)
	return strings.Join(from, ", ")
}

// checkRegistrationNamespace: the registration reads TEMPORAL_NAMESPACE from where the programs
// read it (the secret, the env file), so the attributes land in the namespace the workers use.
func checkRegistrationNamespace(d *deployment, p *problems) {
	for _, topo := range [][]container{d.compose, d.k8s} {
		var want, wantWhere string
		for _, c := range topo {
			if c.program() == "worker" && !c.init {
				want, wantWhere = c.namespaceSource(), c.where
				break
			}
		}
		if wantWhere == "" {
			continue // checkRegistrationJob names a missing worker
		}
		for _, c := range topo {
			switch c.program() {
			case "api", "worker", "script " + registerSA:
				if got := c.namespaceSource(); got != want {
					p.add("%s: namespace from %s, but %s reads TEMPORAL_NAMESPACE from %s", c.where, got, wantWhere, want)
				}
			}
		}
	}
}

// checkTrustedProxies: the compose API replicas behind the callback proxy believe its
// X-Forwarded-For (TIMDESK_TRUSTED_PROXIES covers the network's subnet), or every client shares
// the proxy's UserSig rate limit.
// checkPublishedPorts: compose publishes on every host interface only the callback proxy (the one
// address Tencent IM posts to). Temporal's frontend and Web UI run without auth (--allow-no-auth):
// published beyond 127.0.0.1, anyone reaching the host could read every conversation or signal a
// consultation to send any text as the service account (Docker's published ports bypass host
// firewalls such as ufw).
func checkPublishedPorts(d *deployment, p *problems) {
	for _, c := range d.compose {
		if c.program() == "proxy" {
			continue
		}
		for _, port := range c.publish {
			if !strings.HasPrefix(port, "127.0.0.1:") {
				p.add("%s publishes %q on every interface; bind it to 127.0.0.1 (only the proxy is public)", c.where, port)
			}
		}
	}
}

func checkTrustedProxies(d *deployment, p *problems) {
	for _, proxy := range d.compose {
		if proxy.program() != "proxy" {
			continue
		}
		var subnets []netip.Prefix
		for _, s := range d.subnets {
			pr, err := netip.ParsePrefix(s)
			if err != nil {
				p.add("compose: default network subnet %q: %v", s, err)
				continue
			}
			subnets = append(subnets, pr.Masked())
		}
		if len(subnets) == 0 {
			p.add("compose: the default network has no fixed subnet, so no TIMDESK_TRUSTED_PROXIES can name %s's address", proxy.where)
		}
		for _, backend := range strings.Split(proxy.env["PROXY_BACKENDS"], ",") {
			u, err := url.Parse(strings.TrimSpace(backend))
			if err != nil || u.Hostname() == "" {
				p.add("%s: PROXY_BACKENDS entry %q is not a URL", proxy.where, backend)
				continue
			}
			i := slices.IndexFunc(d.compose, func(c container) bool { return c.workload == u.Hostname() })
			if i < 0 {
				p.add("%s: PROXY_BACKENDS names %s, no compose service", proxy.where, u.Hostname())
				continue
			}
			api := d.compose[i]
			raw, ok := api.env["TIMDESK_TRUSTED_PROXIES"]
			if !ok {
				p.add("%s sets no TIMDESK_TRUSTED_PROXIES: behind %s every client shares one UserSig rate limit", api.where, proxy.workload)
				continue
			}
			var trusted []netip.Prefix
			for _, t := range strings.Split(raw, ",") {
				t = strings.TrimSpace(t)
				pr, err := netip.ParsePrefix(t)
				if err != nil {
					a, aerr := netip.ParseAddr(t)
					if aerr != nil {
						p.add("%s: TIMDESK_TRUSTED_PROXIES entry %q is neither an IP nor a CIDR", api.where, t)
						continue
					}
					pr = netip.PrefixFrom(a, a.BitLen())
				}
				trusted = append(trusted, pr.Masked())
			}
			for _, s := range subnets {
				if !slices.ContainsFunc(trusted, func(t netip.Prefix) bool { return t.Bits() <= s.Bits() && t.Contains(s.Addr()) }) {
					p.add("%s: TIMDESK_TRUSTED_PROXIES %q does not cover the network %s that %s connects from", api.where, raw, s, proxy.workload)
				}
			}
		}
	}
}

// intConst is the value of the integer constant name declared in a Go file.
func intConst(file, name string) (int, error) {
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
	if err != nil {
		return 0, err
	}
	for _, decl := range f.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, n := range vs.Names {
				if n.Name != name || i >= len(vs.Values) {
					continue
				}
				if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.INT {
					return strconv.Atoi(lit.Value)
				}
				return 0, fmt.Errorf("%s: %s is not an integer literal", file, name)
			}
		}
	}
	return 0, fmt.Errorf("%s declares no constant %s", file, name)
}

// ---- what a container runs and reads ----

// program is what the container runs: "api", "worker", "proxy", "temporal-server", "script
// <file under deploy/>", "unknown ..." for a command of ours the checks do not know, or "" for a
// third-party image's own entrypoint.
func (c container) program() string {
	if len(c.command) == 0 {
		return ""
	}
	switch path.Base(c.command[0]) {
	case "timdesk-api":
		return "api"
	case "timdesk-worker":
		return "worker"
	case "timdesk-proxy":
		return "proxy"
	case "temporal-server":
		return "temporal-server"
	case "bash", "sh":
		if len(c.command) > 1 {
			if f, ok := c.resolve(c.command[1]); ok {
				return "script " + f
			}
		}
	}
	return "unknown " + strings.Join(c.command, " ")
}

// resolve names the file under deploy/ a container sees at path p ("" and false when nothing of
// ours is mounted there).
func (c container) resolve(p string) (string, bool) {
	if p == "" {
		return "", false
	}
	p = path.Clean(p)
	for _, m := range c.mounts {
		rel, ok := strings.CutPrefix(p, strings.TrimSuffix(m.path, "/"))
		if !ok || (rel != "" && !strings.HasPrefix(rel, "/")) {
			continue
		}
		rel = strings.TrimPrefix(rel, "/")
		if m.files != nil {
			f, ok := m.files[rel]
			return f, ok && f != ""
		}
		return path.Clean(path.Join(m.host, rel)), true
	}
	return "", false
}

// serverConfigFile is the config file the server's --root, --config and --env select.
func (c container) serverConfigFile() (string, bool) {
	flags := map[string]string{}
	for i := 1; i+1 < len(c.command); i++ {
		if strings.HasPrefix(c.command[i], "--") {
			flags[c.command[i]] = c.command[i+1]
		}
	}
	return c.resolve(path.Join(flags["--root"], flags["--config"], flags["--env"]+".yaml"))
}

// portNumber is a probe's port: a number, or the name of one of the container's ports.
func (c container) portNumber(port string) int {
	if n, err := strconv.Atoi(port); err == nil {
		return n
	}
	return c.ports[port]
}

// varsRead are the variables the program a container runs reads.
func (d *deployment) varsRead(c container) (map[string]bool, error) {
	prog := c.program()
	switch {
	case prog == "api" || prog == "worker" || prog == "proxy":
		return d.programVars(prog)
	case prog == "temporal-server":
		f, ok := c.serverConfigFile()
		if !ok {
			return nil, errors.New("the server's config file is not mounted")
		}
		return fileVars(filepath.Join(d.dir, f), templateVar)
	case strings.HasPrefix(prog, "script "):
		return fileVars(filepath.Join(d.dir, strings.TrimPrefix(prog, "script ")), shellVar)
	}
	return nil, fmt.Errorf("runs %q, which these checks do not know: teach program() what it reads", prog)
}

// programSources are the folders of the Go programs the manifests run.
var programSources = map[string]string{"api": "api", "worker": "worker", "proxy": "deploy/proxy"}

// programVars are the variable names a Go program reads: the names its own (non-test) sources
// spell out as string literals, and the TEMPORAL_* variables of internal/temporalenv, which the
// api and the worker load their Temporal connection with.
func (d *deployment) programVars(prog string) (map[string]bool, error) {
	dir := filepath.Join(d.root, programSources[prog])
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("no Go sources in %s", dir)
	}
	read := map[string]bool{}
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			return nil, err
		}
		ast.Inspect(file, func(n ast.Node) bool {
			if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				if s, err := strconv.Unquote(lit.Value); err == nil && envName.MatchString(s) {
					read[s] = true
				}
			}
			return true
		})
	}
	if prog != "proxy" {
		for name := range temporalVars() {
			read[name] = true
		}
	}
	return read, nil
}

var (
	envName     = regexp.MustCompile(`^[A-Z][A-Z0-9]*_[A-Z0-9_]+$`)
	templateVar = regexp.MustCompile(`env "([A-Z][A-Z0-9_]*)"`)
	shellVar    = regexp.MustCompile(`\$\{?([A-Z][A-Z0-9_]*)`)
)

// temporalVars are the variables temporalenv.Load looks up.
func temporalVars() map[string]bool {
	seen := map[string]bool{}
	_, _ = temporalenv.Load(func(name string) string {
		seen[name] = true
		return ""
	})
	return seen
}

// fileVars are the variable names re matches in a file (a server config template or a script).
func fileVars(file string, re *regexp.Regexp) (map[string]bool, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	read := map[string]bool{}
	for _, m := range re.FindAllStringSubmatch(string(b), -1) {
		read[m[1]] = true
	}
	return read, nil
}

// servedPaths are the paths a program's health source routes: the string arguments of its
// Get/HandleFunc/Handle calls ("GET /readyz" counts as /readyz).
func servedPaths(file string) (map[string]bool, error) {
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
	if err != nil {
		return nil, err
	}
	served := map[string]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok || len(call.Args) == 0 {
			return true
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok || (sel.Sel.Name != "Get" && sel.Sel.Name != "HandleFunc" && sel.Sel.Name != "Handle") {
			return true
		}
		if lit, ok := call.Args[0].(*ast.BasicLit); ok && lit.Kind == token.STRING {
			if s, err := strconv.Unquote(lit.Value); err == nil {
				if _, p, ok := strings.Cut(s, " "); ok {
					s = p
				}
				served[s] = true
			}
		}
		return true
	})
	return served, nil
}

func checked(name string) bool {
	return slices.ContainsFunc(checkedPrefixes, func(p string) bool { return strings.HasPrefix(name, p) })
}

// splitPort splits "host:port" (host may be empty).
func splitPort(addr string) (string, int, error) {
	i := strings.LastIndex(addr, ":")
	if i < 0 {
		return "", 0, errors.New("want host:port")
	}
	port, err := strconv.Atoi(addr[i+1:])
	if err != nil {
		return "", 0, fmt.Errorf("port: %w", err)
	}
	return addr[:i], port, nil
}

// ---- reading the manifests ----

func loadDeployment(root, dir string) (*deployment, error) {
	d := &deployment{root: root, dir: dir, services: map[string]map[int]bool{}, composeSvc: map[string]bool{}, dependsOn: map[string]map[string]string{}}
	if err := d.loadCompose(filepath.Join(dir, "docker-compose.yml")); err != nil {
		return nil, err
	}
	if err := d.loadKustomize(); err != nil {
		return nil, err
	}
	return d, nil
}

// stringList is a YAML list of strings, or one string split at spaces (compose's short forms).
type stringList []string

func (s *stringList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*s = strings.Fields(n.Value)
		return nil
	}
	var l []string
	err := n.Decode(&l)
	*s = l
	return err
}

// envMap is compose's environment: a mapping, or a list of NAME=value.
type envMap map[string]string

func (e *envMap) UnmarshalYAML(n *yaml.Node) error {
	*e = envMap{}
	if n.Kind == yaml.SequenceNode {
		var l []string
		if err := n.Decode(&l); err != nil {
			return err
		}
		for _, kv := range l {
			k, v, _ := strings.Cut(kv, "=")
			(*e)[k] = v
		}
		return nil
	}
	var m map[string]string
	if err := n.Decode(&m); err != nil {
		return err
	}
	for k, v := range m {
		(*e)[k] = v
	}
	return nil
}

// dependsList is compose's depends_on: a list of services, or a mapping to {condition: ...}.
type dependsList map[string]string

func (dl *dependsList) UnmarshalYAML(n *yaml.Node) error {
	*dl = dependsList{}
	if n.Kind == yaml.SequenceNode {
		var l []string
		if err := n.Decode(&l); err != nil {
			return err
		}
		for _, s := range l {
			(*dl)[s] = "service_started"
		}
		return nil
	}
	var m map[string]struct {
		Condition string `yaml:"condition"`
	}
	if err := n.Decode(&m); err != nil {
		return err
	}
	for s, c := range m {
		(*dl)[s] = c.Condition
	}
	return nil
}

// envFiles is compose's env_file: one path, a list of paths, or a list of {path, required}.
type envFiles []string

func (ef *envFiles) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*ef = envFiles{n.Value}
		return nil
	}
	var l []yaml.Node
	if err := n.Decode(&l); err != nil {
		return err
	}
	for _, item := range l {
		var f struct {
			Path string `yaml:"path"`
		}
		if item.Kind == yaml.ScalarNode {
			f.Path = item.Value
		} else if err := item.Decode(&f); err != nil {
			return err
		}
		*ef = append(*ef, f.Path)
	}
	return nil
}

type composeService struct {
	Image       string      `yaml:"image"`
	Entrypoint  stringList  `yaml:"entrypoint"`
	Command     stringList  `yaml:"command"`
	Volumes     []string    `yaml:"volumes"`
	Ports       []string    `yaml:"ports"`
	Environment envMap      `yaml:"environment"`
	EnvFile     envFiles    `yaml:"env_file"`
	DependsOn   dependsList `yaml:"depends_on"`
	Deploy      struct {
		Replicas *int `yaml:"replicas"`
	} `yaml:"deploy"`
}

func (d *deployment) loadCompose(file string) error {
	b, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	var cf struct {
		Services map[string]composeService `yaml:"services"`
		Networks struct {
			Default struct {
				IPAM struct {
					Config []struct {
						Subnet string `yaml:"subnet"`
					} `yaml:"config"`
				} `yaml:"ipam"`
			} `yaml:"default"`
		} `yaml:"networks"`
	}
	if err := yaml.Unmarshal(b, &cf); err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	for _, c := range cf.Networks.Default.IPAM.Config {
		if c.Subnet != "" {
			d.subnets = append(d.subnets, c.Subnet)
		}
	}
	names := make([]string, 0, len(cf.Services))
	for name := range cf.Services {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		s := cf.Services[name]
		d.composeSvc[name] = true
		d.dependsOn[name] = s.DependsOn
		c := container{where: "compose service " + name, kind: "compose", workload: name, image: s.Image,
			command: append(slices.Clone(s.Entrypoint), s.Command...), env: s.Environment, replicas: 1, publish: s.Ports}
		if c.env == nil {
			c.env = map[string]string{}
		}
		if s.Deploy.Replicas != nil {
			c.replicas = *s.Deploy.Replicas
		}
		for _, f := range s.EnvFile {
			c.envFrom = append(c.envFrom, "file "+path.Clean(f))
		}
		for _, v := range s.Volumes {
			parts := strings.Split(v, ":")
			if len(parts) < 2 || (!strings.HasPrefix(parts[0], ".") && !strings.HasPrefix(parts[0], "/")) {
				continue // a named volume
			}
			c.mounts = append(c.mounts, mount{path: parts[1], host: path.Clean(parts[0])})
		}
		d.compose = append(d.compose, c)
	}
	return nil
}

type k8sContainer struct {
	Name    string   `yaml:"name"`
	Image   string   `yaml:"image"`
	Command []string `yaml:"command"`
	Args    []string `yaml:"args"`
	Env     []struct {
		Name  string `yaml:"name"`
		Value string `yaml:"value"`
	} `yaml:"env"`
	EnvFrom []struct {
		SecretRef *struct {
			Name string `yaml:"name"`
		} `yaml:"secretRef"`
		ConfigMapRef *struct {
			Name string `yaml:"name"`
		} `yaml:"configMapRef"`
	} `yaml:"envFrom"`
	Ports []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	} `yaml:"ports"`
	ReadinessProbe *k8sProbe `yaml:"readinessProbe"`
	LivenessProbe  *k8sProbe `yaml:"livenessProbe"`
	VolumeMounts   []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
	} `yaml:"volumeMounts"`
}

type k8sProbe struct {
	HTTPGet *struct {
		Path string    `yaml:"path"`
		Port yaml.Node `yaml:"port"`
	} `yaml:"httpGet"`
	TCPSocket *struct {
		Port yaml.Node `yaml:"port"`
	} `yaml:"tcpSocket"`
}

func (p *k8sProbe) probe() *probe {
	switch {
	case p == nil:
		return nil
	case p.HTTPGet != nil:
		return &probe{path: p.HTTPGet.Path, port: p.HTTPGet.Port.Value}
	case p.TCPSocket != nil:
		return &probe{port: p.TCPSocket.Port.Value}
	}
	return nil
}

type podSpec struct {
	InitContainers []k8sContainer `yaml:"initContainers"`
	Containers     []k8sContainer `yaml:"containers"`
	Volumes        []struct {
		Name      string `yaml:"name"`
		ConfigMap *struct {
			Name string `yaml:"name"`
		} `yaml:"configMap"`
	} `yaml:"volumes"`
}

type k8sObject struct {
	Kind     string `yaml:"kind"`
	Metadata struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Spec struct {
		Replicas *int `yaml:"replicas"`
		Template struct {
			Metadata struct {
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"metadata"`
			Spec podSpec `yaml:"spec"`
		} `yaml:"template"`
		Ports []struct {
			Port int `yaml:"port"`
		} `yaml:"ports"`
	} `yaml:"spec"`
	Data map[string]string `yaml:"data"`
}

// loadKustomize reads kustomization.yaml: its ConfigMap generators (key → file under deploy/) and
// the objects of its resources.
func (d *deployment) loadKustomize() error {
	file := filepath.Join(d.dir, "kustomization.yaml")
	b, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	var k struct {
		Resources          []string `yaml:"resources"`
		ConfigMapGenerator []struct {
			Name  string   `yaml:"name"`
			Files []string `yaml:"files"`
		} `yaml:"configMapGenerator"`
	}
	if err := yaml.Unmarshal(b, &k); err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	configMaps := map[string]map[string]string{}
	for _, g := range k.ConfigMapGenerator {
		keys := map[string]string{}
		for _, f := range g.Files {
			key, src, ok := strings.Cut(f, "=")
			if !ok {
				key, src = path.Base(f), f
			}
			keys[key] = path.Clean(src)
			d.kustFiles = append(d.kustFiles, src)
		}
		configMaps[g.Name] = keys
	}
	var objects []k8sObject
	for _, r := range k.Resources {
		d.kustFiles = append(d.kustFiles, r)
		objs, err := readObjects(filepath.Join(d.dir, r))
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue // checkKustomization names it
			}
			return err
		}
		objects = append(objects, objs...)
	}
	for _, o := range objects {
		switch o.Kind {
		case "ConfigMap":
			keys := map[string]string{}
			for key := range o.Data {
				keys[key] = "" // inline data, no file of ours
			}
			configMaps[o.Metadata.Name] = keys
		case "Service":
			ports := map[int]bool{}
			for _, p := range o.Spec.Ports {
				ports[p.Port] = true
			}
			d.services[o.Metadata.Name] = ports
		}
	}
	for _, o := range objects {
		d.addPod(o, configMaps)
	}
	return nil
}

// addPod adds the containers of a workload (Deployment, Job, ...) with what their volumes show.
func (d *deployment) addPod(o k8sObject, configMaps map[string]map[string]string) {
	spec := o.Spec.Template.Spec
	volumes := map[string]map[string]string{}
	for _, v := range spec.Volumes {
		if v.ConfigMap != nil {
			volumes[v.Name] = configMaps[v.ConfigMap.Name]
			if volumes[v.Name] == nil {
				volumes[v.Name] = map[string]string{} // a ConfigMap these manifests do not make
			}
		}
	}
	replicas := 1
	if o.Spec.Replicas != nil {
		replicas = *o.Spec.Replicas
	}
	add := func(kc k8sContainer, init bool) {
		c := container{where: fmt.Sprintf("k8s %s/%s container %s", o.Kind, o.Metadata.Name, kc.Name), kind: o.Kind,
			workload: o.Metadata.Name, init: init, image: kc.Image, command: append(slices.Clone(kc.Command), kc.Args...),
			env: map[string]string{}, ports: map[string]int{}, ready: kc.ReadinessProbe.probe(), live: kc.LivenessProbe.probe(),
			replicas: replicas, annots: o.Spec.Template.Metadata.Annotations}
		for _, e := range kc.Env {
			c.env[e.Name] = e.Value
		}
		for _, e := range kc.EnvFrom {
			switch {
			case e.SecretRef != nil:
				c.envFrom = append(c.envFrom, "secret "+e.SecretRef.Name)
			case e.ConfigMapRef != nil:
				c.envFrom = append(c.envFrom, "configMap "+e.ConfigMapRef.Name)
			}
		}
		for _, p := range kc.Ports {
			c.ports[p.Name] = p.ContainerPort
		}
		for _, vm := range kc.VolumeMounts {
			files := volumes[vm.Name]
			if files == nil {
				files = map[string]string{} // not a ConfigMap: nothing of ours
			}
			c.mounts = append(c.mounts, mount{path: vm.MountPath, files: files})
		}
		d.k8s = append(d.k8s, c)
	}
	for _, kc := range spec.InitContainers {
		add(kc, true)
	}
	for _, kc := range spec.Containers {
		add(kc, false)
	}
}

// readObjects decodes every document of a multi-document YAML file.
func readObjects(file string) ([]k8sObject, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	dec := yaml.NewDecoder(f)
	var out []k8sObject
	for {
		var o k8sObject
		err := dec.Decode(&o)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		if o.Kind != "" {
			out = append(out, o)
		}
	}
}
