package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/timdesk/timdesk/desk"
)

// TestUserSigVerifiesWithNodePackage checks a UserSig issued by the API with Tencent's official
// npm package tls-sig-api-v2 (through the tim package's cross-check script). It skips when node or
// the package (make tools) is absent.
func TestUserSigVerifiesWithNodePackage(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not found in PATH")
	}
	modules := os.Getenv("TIMDESK_NODE_MODULES")
	if modules == "" {
		modules = filepath.Join("..", "bin", "npm", "node_modules")
	}
	if modules, err = filepath.Abs(modules); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join("..", "tim", "testdata", "tls_sig_crosscheck.js")
	if _, err := os.Stat(filepath.Join(modules, "tls-sig-api-v2", "package.json")); err != nil {
		t.Skipf("tls-sig-api-v2 not installed in %s (make tools)", modules)
	}
	if _, err := os.Stat(script); err != nil {
		t.Skipf("cross-check script missing: %v", err)
	}

	env := newTestEnv(t, withDesk(desk.State{}))
	jwtToken := signJWT(t, userClaims("客户_alice"), testJWTSecret)
	r := env.do(t, http.MethodPost, "/api/v1/usersig", "", "Authorization", bearer(jwtToken))
	var got userSigResponse
	if err := json.Unmarshal(r.Body, &got); err != nil || r.Status != 200 {
		t.Fatalf("status %d body %s", r.Status, r.Body)
	}

	req := map[string]any{
		"sdkappid": testSDKAppID, "key": testSecretKey, "gen": []any{},
		"verify": []map[string]any{
			{"userid": "客户_alice", "token": got.UserSig, "now": testNow.Add(time.Hour).Unix()},
			{"userid": "bob", "token": got.UserSig, "now": testNow.Unix()},
		},
	}
	in, _ := json.Marshal(req)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, script, modules, "check")
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, stderr.String())
	}
	var resp struct {
		Verified []struct {
			OK     bool   `json:"ok"`
			Reason string `json:"reason"`
		} `json:"verified"`
	}
	if err := json.Unmarshal(out, &resp); err != nil || len(resp.Verified) != 2 {
		t.Fatalf("node output %s: %v", out, err)
	}
	if !resp.Verified[0].OK {
		t.Errorf("official package rejects the API's UserSig: %s", resp.Verified[0].Reason)
	}
	if resp.Verified[1].OK {
		t.Errorf("official package accepts the UserSig for another user")
	}
}
