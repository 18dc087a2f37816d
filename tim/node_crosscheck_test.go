package tim

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The official Node package the Makefile installs (`make tools`) into $TIMDESK_NODE_MODULES
// (default <repo>/bin/npm/node_modules).
const nodeTLSSigVersion = "1.0.2"

// nodeModules returns the node binary and the node_modules folder holding tls-sig-api-v2, or
// skips (node absent; package absent outside CI) or fails (package absent in CI, wrong version).
func nodeModules(t *testing.T) (node, modules string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not found in PATH: skipping the cross-check against Tencent's official tls-sig-api-v2 (install Node.js to run it)")
	}
	modules = os.Getenv("TIMDESK_NODE_MODULES")
	if modules == "" {
		modules = filepath.Join("..", "bin", "npm", "node_modules")
	}
	if modules, err = filepath.Abs(modules); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(modules, "tls-sig-api-v2", "package.json"))
	if err != nil {
		msg := fmt.Sprintf("tls-sig-api-v2 is not installed in %s: run make tools", modules)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	var pkg struct{ Version string }
	if err := json.Unmarshal(raw, &pkg); err != nil || pkg.Version != nodeTLSSigVersion {
		t.Fatalf("tls-sig-api-v2 in %s is version %q (%v), want %s: run make tools", modules, pkg.Version, err, nodeTLSSigVersion)
	}
	return node, modules
}

type nodeGen struct {
	UserID string `json:"userid"`
	Expire int64  `json:"expire"`
	NowMs  int64  `json:"nowMs"`
}

type nodeVerify struct {
	UserID string `json:"userid"`
	Token  string `json:"token"`
	Now    int64  `json:"now"`
}

type nodeCheckResponse struct {
	Version  string   `json:"version"`
	Tokens   []string `json:"tokens"`
	Verified []struct {
		OK     bool   `json:"ok"`
		Reason string `json:"reason"`
	} `json:"verified"`
}

func runNode(t *testing.T, node, modules string, stdin any, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, append([]string{filepath.Join("testdata", "tls_sig_crosscheck.js"), modules}, args...)...)
	if stdin != nil {
		in, err := json.Marshal(stdin)
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stdin = bytes.NewReader(in)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node %v: %v\n%s", args, err, stderr.String())
	}
	return out
}

// randomUserID returns a valid UserID of 1–32 bytes mixing the recommended characters with
// punctuation that needs JSON escaping and multi-byte UTF-8.
func randomUserID(r *rand.Rand) string {
	pieces := []string{"a", "Z", "0", "9", "_", "-", "x", "Q", "7", `"`, `\`, "/", ".", "@", " ", "用", "é", "🙂", "ü", "<", "&"}
	var b strings.Builder
	n := 1 + r.IntN(20)
	for range n {
		p := pieces[r.IntN(len(pieces))]
		if b.Len()+len(p) > MaxUserIDLen {
			break
		}
		b.WriteString(p)
	}
	if b.Len() == 0 {
		b.WriteString("u")
	}
	return b.String()
}

func TestNodeCrossCheck(t *testing.T) {
	node, modules := nodeModules(t)
	seed := uint64(time.Now().UnixNano())
	t.Logf("random seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 0x7153))
	const n = 300
	signer := NewSigner(testAppID, testKey)
	otherKey := NewSigner(testAppID, strings.Repeat("f", 64))

	// Node → Go: Node mints tokens at pinned Date.now values.
	gens := make([]nodeGen, n)
	for i := range gens {
		gens[i] = nodeGen{
			UserID: randomUserID(r),
			Expire: 1 + r.Int64N(1<<31-2),
			NowMs:  1_000_000_000_000 + r.Int64N(2_000_000_000_000), // 2001…2064, with a millisecond part
		}
	}
	gens[0] = nodeGen{UserID: "0", Expire: 15552000, NowMs: 1569910200_123}

	// Go → Node: Go mints tokens at every zlib level; some tampered ones must be refused.
	type goCase struct {
		verify nodeVerify
		wantOK bool
		reason string
	}
	var goCases []goCase
	levels := []int{zlib.NoCompression, zlib.BestSpeed, zlib.DefaultCompression, zlib.BestCompression, zlib.HuffmanOnly}
	for i := range n {
		id := randomUserID(r)
		issued := 1_000_000_000 + r.Int64N(2_000_000_000)
		expire := 1 + r.Int64N(1<<31-2)
		s := NewSigner(testAppID, testKey)
		s.Level = levels[i%len(levels)]
		token, err := s.SignAt(id, time.Unix(issued, 0), time.Duration(expire)*time.Second)
		if err != nil {
			t.Fatalf("SignAt(%q): %v", id, err)
		}
		goCases = append(goCases, goCase{nodeVerify{id, token, issued + r.Int64N(expire+1)}, true, ""})
		switch i % 10 {
		case 0:
			goCases = append(goCases, goCase{nodeVerify{id, token, issued + expire + 1}, false, "expired"})
		case 1:
			goCases = append(goCases, goCase{nodeVerify{id + "x", token, issued}, false, "identifier"})
		case 2:
			forged, err := otherKey.SignAt(id, time.Unix(issued, 0), time.Duration(expire)*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			goCases = append(goCases, goCase{nodeVerify{id, forged, issued}, false, "sig"})
		}
	}
	req := struct {
		SDKAppID uint64       `json:"sdkappid"`
		Key      string       `json:"key"`
		Gen      []nodeGen    `json:"gen"`
		Verify   []nodeVerify `json:"verify"`
	}{SDKAppID: testAppID, Key: testKey, Gen: gens}
	for _, c := range goCases {
		req.Verify = append(req.Verify, c.verify)
	}

	var resp nodeCheckResponse
	if err := json.Unmarshal(runNode(t, node, modules, req, "check"), &resp); err != nil {
		t.Fatal(err)
	}
	if resp.Version != nodeTLSSigVersion || len(resp.Tokens) != len(gens) || len(resp.Verified) != len(goCases) {
		t.Fatalf("node answered version %q, %d tokens, %d verdicts", resp.Version, len(resp.Tokens), len(resp.Verified))
	}
	if want := fullTokenVectors[1].token; resp.Tokens[0] != want {
		t.Errorf("node token for TENCENT_IM.md 1.8 row 1:\n got %s\nwant %s", resp.Tokens[0], want)
	}

	nodeOK := 0
	for i, g := range gens {
		token := resp.Tokens[i]
		issued := time.UnixMilli(g.NowMs).Truncate(time.Second)
		expire := time.Duration(g.Expire) * time.Second
		if err := signer.Verify(g.UserID, token, issued.Add(expire)); err != nil {
			t.Errorf("node token %d (user %q, time %d, expire %d) rejected by Go: %v", i, g.UserID, issued.Unix(), g.Expire, err)
			continue
		}
		if err := signer.Verify(g.UserID, token, issued.Add(expire+time.Second)); !errors.Is(err, ErrExpired) {
			t.Errorf("node token %d one second after expiry: got %v, want ErrExpired", i, err)
		}
		if err := otherKey.Verify(g.UserID, token, issued); !errors.Is(err, ErrBadSignature) {
			t.Errorf("node token %d under another key: got %v, want ErrBadSignature", i, err)
		}
		// Same issue time and expiry → Go computes the same TLS.sig as Node.
		mine, err := signer.SignAt(g.UserID, issued, expire)
		if err != nil {
			t.Fatal(err)
		}
		a, errA := decodeToken(mine)
		b, errB := decodeToken(token)
		if errA != nil || errB != nil || *a.Sig != *b.Sig {
			t.Errorf("token %d: TLS.sig differs between Go and Node", i)
			continue
		}
		nodeOK++
	}

	goOK := 0
	for i, c := range goCases {
		v := resp.Verified[i]
		if v.OK != c.wantOK || (!c.wantOK && v.Reason != c.reason) {
			t.Errorf("Go token %d (user %q) on the Node side: ok=%v reason=%q, want ok=%v reason=%q", i, c.verify.UserID, v.OK, v.Reason, c.wantOK, c.reason)
			continue
		}
		goOK++
	}
	t.Logf("Node→Go: %d/%d tokens verified; Go→Node: %d/%d verdicts as expected (levels 0,1,-1,9,-2)", nodeOK, len(gens), goOK, len(goCases))
}

// TestNodeSignRate compares signs/s of the official Node library and this package, single
// threaded, on this machine (make bench-usersig). Runs only with TIMDESK_BENCH_NODE=1.
func TestNodeSignRate(t *testing.T) {
	if os.Getenv("TIMDESK_BENCH_NODE") != "1" {
		t.Skip("set TIMDESK_BENCH_NODE=1 to compare UserSig signing speed with the Node library")
	}
	node, modules := nodeModules(t)
	const window = 2 * time.Second

	var nodeRes struct {
		Version   string  `json:"version"`
		Signs     int64   `json:"signs"`
		Seconds   float64 `json:"seconds"`
		PerSecond float64 `json:"perSecond"`
	}
	if err := json.Unmarshal(runNode(t, node, modules, nil, "bench", fmt.Sprint(window.Milliseconds())), &nodeRes); err != nil {
		t.Fatal(err)
	}

	s := NewSigner(testAppID, testKey)
	signFor := func(d time.Duration) float64 {
		var count atomic.Int64
		start := time.Now()
		for time.Since(start) < d {
			for range 1000 {
				if _, err := s.Sign("user_01-abc", DefaultUserSigExpire); err != nil {
					t.Fatal(err)
				}
			}
			count.Add(1000)
		}
		return float64(count.Load()) / time.Since(start).Seconds()
	}
	signFor(200 * time.Millisecond) // warm-up
	goRate := signFor(window)

	// All cores, for information.
	procs := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	var total atomic.Int64
	start := time.Now()
	for range procs {
		wg.Go(func() {
			var n int64
			for time.Since(start) < window {
				for range 1000 {
					_, _ = s.Sign("user_01-abc", DefaultUserSigExpire)
				}
				n += 1000
			}
			total.Add(n)
		})
	}
	wg.Wait()
	parallel := float64(total.Load()) / time.Since(start).Seconds()

	ratio := goRate / nodeRes.PerSecond
	fmt.Printf("UserSig signing, one core, %v each:\n", window)
	fmt.Printf("  node tls-sig-api-v2@%s: %10.0f signs/s\n", nodeRes.Version, nodeRes.PerSecond)
	fmt.Printf("  go   tim.Signer (level 0): %10.0f signs/s\n", goRate)
	fmt.Printf("  ratio go/node:             %10.1fx (goal >= 5x)\n", ratio)
	fmt.Printf("  go on all %d cores:         %10.0f signs/s\n", procs, parallel)
	if ratio < 5 {
		t.Errorf("Go signs %.1fx the Node rate, goal is at least 5x", ratio)
	}
}
