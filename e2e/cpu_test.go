package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// clockTicks is Linux's USER_HZ, the unit of utime and stime in /proc/<pid>/stat.
const clockTicks = 100

// cpuGroups are the bench table's CPU columns, in order: the Temporal server, PostgreSQL (cluster
// mode), the workers, the APIs (with the proxy and the emulator, when running), and this test
// process (the load generator and the fake Tencent).
var cpuGroups = []string{"temporal", "postgres", "worker", "api", "load"}

// cpuUse is CPU time (user + system) per group.
type cpuUse map[string]time.Duration

// cpuSnapshot reads the CPU time every program of the stack has used so far.
func (s *stack) cpuSnapshot() cpuUse {
	use := cpuUse{}
	if s.temporal != nil && s.temporal.cmd.Process != nil {
		use["temporal"] += procCPU(strconv.Itoa(s.temporal.cmd.Process.Pid))
	}
	for _, p := range s.procs {
		if p.cmd.Process == nil || p.Exited() {
			continue
		}
		group := "api"
		if strings.HasPrefix(p.name, "worker") {
			group = "worker"
		}
		use[group] += procCPU(strconv.Itoa(p.cmd.Process.Pid))
	}
	use["load"] = procCPU("self")
	if s.cluster != nil {
		use["postgres"] = commandCPU("postgres")
	}
	return use
}

// since is the CPU used between earlier and u.
func (u cpuUse) since(earlier cpuUse) cpuUse {
	d := cpuUse{}
	for k, v := range u {
		d[k] = v - earlier[k]
	}
	return d
}

// perAnswer renders each group's CPU milliseconds per answered message, "temporal 3.1 / worker
// 1.2 / …", and the share of the box's CPUs used over elapsed.
func (u cpuUse) perAnswer(answers int, elapsed time.Duration, cpus int) string {
	if answers == 0 || elapsed <= 0 {
		return "–"
	}
	var parts []string
	var total time.Duration
	for _, g := range cpuGroups {
		v, ok := u[g]
		if !ok {
			continue
		}
		total += v
		parts = append(parts, fmt.Sprintf("%s %.1f", g, float64(v.Microseconds())/1000/float64(answers)))
	}
	return fmt.Sprintf("%s (box %.0f %%)", strings.Join(parts, " / "), 100*total.Seconds()/elapsed.Seconds()/float64(cpus))
}

// procCPU is the CPU time pid ("self" or a number) used so far; zero when it is gone.
func procCPU(pid string) time.Duration {
	b, err := os.ReadFile(filepath.Join("/proc", pid, "stat"))
	if err != nil {
		return 0
	}
	// The command name (field 2) may hold spaces; the fields after its ')' are fixed.
	rest := string(b)
	if i := strings.LastIndexByte(rest, ')'); i >= 0 {
		rest = rest[i+1:]
	}
	f := strings.Fields(rest)
	if len(f) < 15 {
		return 0
	}
	// utime, stime, cutime, cstime (fields 14–17): a process's own CPU and that of the children it
	// reaped (PostgreSQL's postmaster reaps its backends as connections close).
	var ticks int64
	for _, v := range f[11:15] {
		n, _ := strconv.ParseInt(v, 10, 64)
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks
}

// commandCPU is the CPU time of every process whose command name is comm (PostgreSQL's server
// processes), living ones only.
func commandCPU(comm string) time.Duration {
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	var total time.Duration
	for _, d := range dirs {
		if _, err := strconv.Atoi(d.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", d.Name(), "comm"))
		if err != nil || strings.TrimSpace(string(b)) != comm {
			continue
		}
		total += procCPU(d.Name())
	}
	return total
}
