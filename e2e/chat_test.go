package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// e2eJWTSecret is TIMDESK_AUTH_JWT_SECRET of the e2e stack.
const e2eJWTSecret = "e2e-jwt-secret-0123456789abcdef-0123"

// customerJWT is what a business's login system would give the app for customer, valid for ttl
// (negative: expired that long ago).
func customerJWT(t *testing.T, customer string, ttl time.Duration) string {
	t.Helper()
	now := time.Now()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.RegisteredClaims{
		Subject: customer, IssuedAt: jwt.NewNumericDate(now.Add(min(ttl, 0) - time.Hour)), ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
	}).SignedString([]byte(e2eJWTSecret))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// browserTools finds node, the chat page's npm packages (playwright-core) and Debian's Chromium,
// which `make chat-deps` installs; without them the test skips locally and fails in CI.
func browserTools(t *testing.T) (node string) {
	t.Helper()
	root := repoRoot(t)
	chromium := os.Getenv("TIMDESK_CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	node, err := exec.LookPath("node")
	missing := ""
	switch {
	case err != nil:
		missing = "node"
	case !exists(filepath.Join(root, "chat", "node_modules", "playwright-core", "package.json")):
		missing = "chat/node_modules (npm ci in chat/)"
	case !exists(chromium):
		missing = chromium
	}
	if missing != "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s not found: `make chat-deps` installs the browser test tools", missing)
		}
		t.Skipf("%s not found: run `make chat-deps` (or `make test`) first", missing)
	}
	return node
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// runBrowser runs one scenario of chat/test in Chromium.
func runBrowser(t *testing.T, node, script string, env map[string]string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join("chat", "test", script))
	cmd.Dir = repoRoot(t)
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", script, err, out)
	}
	t.Logf("%s:\n%s", script, out)
}

// TestChatPage plays the customer's chat page (chat/) in Debian's Chromium: against the emulator
// stack the whole consultation — FAQ answer, hand-off, a translated agent reply with its original,
// the rating, offline and reconnecting, an expired JWT renewed by the host app — and, on an API configured for Tencent's Web SDK with the network cut, the SDK's
// creation, login with the issued UserSig, "connecting", the new UserSig after KICKED_OUT and
// before the UserSig expires, and no fight over the session when another device takes it.
// TIMDESK_CHAT_SCREENSHOT_DIR=docs writes the README's phone screenshots (chat-phone-zh.png,
// chat-phone-en.png, chat-phone-connecting.png).
func TestChatPage(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	node := browserTools(t)
	s := startStack(t, stackOptions{})
	s.login(t, "agent_emma", "agent_tom")

	shots := os.Getenv("TIMDESK_CHAT_SCREENSHOT_DIR")
	if shots != "" && !filepath.IsAbs(shots) {
		shots = filepath.Join(repoRoot(t), shots)
	}

	t.Run("emulator", func(t *testing.T) {
		runBrowser(t, node, "emulator.mjs", map[string]string{
			"CHAT_API_URL": s.apiURL, "CHAT_SIM_URL": s.simURL, "CHAT_CUSTOMER": "web_amy",
			"CHAT_JWT": customerJWT(t, "web_amy", time.Hour), "CHAT_JWT_EXPIRED": customerJWT(t, "web_amy", -time.Hour),
			"CHAT_CUSTOMER_EN": "web_cal", "CHAT_JWT_EN": customerJWT(t, "web_cal", time.Hour), "CHAT_AGENTS": "agent_emma,agent_tom",
			"CHAT_FAQ_ANSWER": refundAnswer, "CHAT_SCREENSHOT_DIR": shots, "CHAT_HOST_PORT": fmt.Sprint(s.chatHostPort),
		})
		eventually(t, 60*time.Second, "the rating in the consultation", func() error {
			st, err := s.consultationState("web_amy")
			if err != nil {
				return err
			}
			for _, e := range st.Transcript {
				if e.Text == "5" {
					return nil
				}
			}
			return fmt.Errorf("%w: transcript %+v", errNotYet, st.Transcript)
		})
	})

	// Who may give the page a JWT: a page on an origin outside TIMDESK_CHAT_HOST_ORIGINS cannot
	// frame it, and when it still does (a browser without frame-ancestors) the tokens it posts —
	// or a hostile frame next to it posts — are dropped: no UserSig is asked for, the page waits
	// for its host. The allowed host and a native WebView's injected message sign in.
	t.Run("host origins", func(t *testing.T) {
		runBrowser(t, node, "host-origins.mjs", map[string]string{
			"CHAT_API_URL": s.apiURL, "CHAT_HOST_PORT": fmt.Sprint(s.chatHostPort),
			"CHAT_JWT": customerJWT(t, "web_vic", time.Hour), "CHAT_JWT_ATTACKER": customerJWT(t, "web_eve", time.Hour),
			"CHAT_JWT_NATIVE": customerJWT(t, "web_nat", time.Hour),
		})
	})

	t.Run("sdk offline", func(t *testing.T) {
		port := freePort(t)
		apiURL := fmt.Sprintf("http://127.0.0.1:%d", port)
		// UserSigs of one minute: the page renews them at half-time, which the scenario waits for.
		env := append(append([]string(nil), s.env...), "TIMDESK_CHAT_TRANSPORT=sdk", "TIMDESK_USERSIG_TTL=1m",
			fmt.Sprintf("TIMDESK_LISTEN=127.0.0.1:%d", port))
		p, err := startProcess("api-sdk", s.bins["api"], env)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.Stop)
		wctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := waitHTTP(wctx, apiURL+"/healthz", p); err != nil {
			t.Fatal(err)
		}
		runBrowser(t, node, "sdk-offline.mjs", map[string]string{
			"CHAT_API_URL": apiURL, "CHAT_CUSTOMER": "web_ben", "CHAT_JWT": customerJWT(t, "web_ben", time.Hour), "CHAT_SDKAPPID": "1400000000",
			"CHAT_SCREENSHOT_DIR": shots,
		})
	})
}
