package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// repoRoot is the module root, found from this file's location.
func repoRoot(tb testing.TB) string {
	tb.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		tb.Fatal("cannot locate the e2e package")
	}
	return filepath.Dir(filepath.Dir(file))
}

// temporalCLI returns the Temporal CLI that `make tools` installs into ./bin. The e2e tests never
// download a server: without the CLI they skip locally and fail in CI.
func temporalCLI(tb testing.TB) string {
	tb.Helper()
	path := os.Getenv("TIMDESK_TEMPORAL_CLI")
	if path == "" {
		path = filepath.Join(repoRoot(tb), "bin", "temporal")
	}
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("CI") != "" {
			tb.Fatalf("Temporal CLI not found at %s: `make tools` installs it", path)
		}
		tb.Skipf("Temporal CLI not found at %s: run `make tools` (or `make test`) first", path)
	}
	return path
}

// freePort returns a loopback port that was free a moment ago.
func freePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("free port: %v", err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port
}

// TestMain stops the shared cluster and removes the programs built for this test binary when it ends.
func TestMain(m *testing.M) {
	code := m.Run()
	stopSharedCluster()
	if builtDir != "" {
		_ = os.RemoveAll(builtDir)
	}
	os.Exit(code)
}

var (
	buildOnce sync.Once
	builtDir  string
	built     map[string]string
	buildErr  error
)

// buildPrograms compiles the programs from the current source once per test binary, so the e2e
// tests always run the code under test, never a stale ./bin, and each stack starts without
// relinking them. dir is unused (kept for the callers' signature).
func buildPrograms(root, _ string) (map[string]string, error) {
	buildOnce.Do(func() {
		builtDir, buildErr = os.MkdirTemp("", "timdesk-e2e-bin-")
		if buildErr != nil {
			return
		}
		built, buildErr = compilePrograms(root, builtDir)
	})
	return built, buildErr
}

// compilePrograms compiles the programs into dir.
func compilePrograms(root, dir string) (map[string]string, error) {
	progs := map[string]string{
		"api":    "./api",
		"worker": "./worker",
		"timsim": "./tim/timsim/cmd/timsim",
		"proxy":  "./deploy/proxy",
	}
	out := map[string]string{}
	for name, pkg := range progs {
		bin := filepath.Join(dir, name)
		cmd := exec.Command("go", "build", "-o", bin, pkg)
		cmd.Dir = root
		if b, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("go build %s: %w\n%s", pkg, err, b)
		}
		out[name] = bin
	}
	return out, nil
}

// process is one program of the stack, its output kept for the failure report.
type process struct {
	name string
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  bytes.Buffer
	done chan struct{}
	err  error
	// ended is set when the test ends the process itself (Stop, a deliberate kill).
	ended atomic.Bool
}

// maxProcessOutput bounds what a process's output keeps (the load tests log a line per callback).
const maxProcessOutput = 4 << 20

func (p *process) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.out.Len()+len(b) > maxProcessOutput {
		keep := p.out.Bytes()[p.out.Len()-maxProcessOutput/2:]
		rest := append([]byte("…\n"), keep...)
		p.out.Reset()
		p.out.Write(rest)
	}
	return p.out.Write(b)
}

// Output is everything the process printed so far.
func (p *process) Output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

func startProcess(name, bin string, env []string) (*process, error) {
	return startProcessArgs(name, bin, nil, env)
}

func startProcessArgs(name, bin string, args, env []string) (*process, error) {
	p := &process{name: name, done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout = p
	p.cmd.Stderr = p
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// Stop asks the process to stop (SIGTERM) and kills it after a grace period.
func (p *process) Stop() {
	p.ended.Store(true)
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// Exited reports whether the process has ended.
func (p *process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// waitHTTP polls url until it answers 200 or the deadline passes.
func waitHTTP(ctx context.Context, url string, procs ...*process) error {
	for {
		resp, err := http.Get(url)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		for _, p := range procs {
			if p.Exited() {
				return fmt.Errorf("%s exited (%s)\n%s", p.name, p.cmd.ProcessState, tail(p.Output(), 40))
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for %s: %w", url, errors.Join(ctx.Err(), err))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func tail(s string, lines int) string {
	var all []string
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		all = append(all, sc.Text())
	}
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}

// postJSON posts v as JSON and decodes the JSON answer into out (when out is not nil).
func postJSON(ctx context.Context, url string, v, out any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST %s: HTTP %d: %s", url, resp.StatusCode, b)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("POST %s: decode %s: %w", url, b, err)
	}
	return nil
}

var errNotYet = errors.New("not yet")

// eventually calls f until it returns nil, failing the test with f's last error at the deadline.
func eventually(tb testing.TB, timeout time.Duration, what string, f func() error) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	var err error
	for {
		if err = f(); err == nil {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%s: not within %s: %v", what, timeout, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// httpGetJSON gets url and decodes its JSON answer into out; the raw body comes back for error reports.
func httpGetJSON(url string, out any) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return string(b), fmt.Errorf("GET %s: HTTP %d", url, resp.StatusCode)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return string(b), fmt.Errorf("decode: %w", err)
	}
	return string(b), nil
}

// decodeJSON decodes an HTTP response's JSON body.
func decodeJSON(resp *http.Response, out any) error {
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("decode %s: %w", b, err)
	}
	return nil
}
