package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"go.temporal.io/api/serviceerror"

	"github.com/timdesk/timdesk/desk"
	"github.com/timdesk/timdesk/workflows"
)

// withDesk makes the desk workflow answer QueryDesk with st.
func withDesk(st desk.State) func(*testEnv) {
	return func(e *testEnv) {
		e.temporal.query = func(_ context.Context, c call) (any, error) {
			if c.Name != workflows.QueryDesk {
				return nil, errNoFake
			}
			return st, nil
		}
	}
}

// withDeskError makes every QueryDesk fail with err.
func withDeskError(err error) func(*testEnv) {
	return func(e *testEnv) {
		e.temporal.query = func(context.Context, call) (any, error) { return nil, err }
	}
}

// deskOverride is a roster the desk holds instead of the file: agent_emma stays, agent_new and
// sup_new (a supervisor) join, agent_li and agent_zhang are only in the file.
const deskOverride = `agents:
  - id: agent_emma
    capacity: 3
  - id: agent_new
    capacity: 2
supervisors: [sup_new]
`

// TestUserSigStaffNeedsAgentClaim: a login-system token whose sub is a roster agent or supervisor
// (the file's or the desk override's) gets that UserSig only with the agent claim; customers are
// unaffected and the admin key still signs for agents.
func TestUserSigStaffNeedsAgentClaim(t *testing.T) {
	agentClaim := func(e *testEnv) { e.cfg.JWTAgentClaim, e.cfg.JWTAgentValue = "role", "agent" }
	fileOnly := withDesk(desk.State{})
	override := withDesk(desk.State{RosterYAML: deskOverride, RosterVersion: 2})
	jwtFor := func(sub string, kv ...any) string {
		return bearer(signJWT(t, with(userClaims(sub), kv...), testJWTSecret))
	}
	tests := []struct {
		name       string
		setup      []func(*testEnv)
		auth       string
		body       string
		wantStatus int
		wantCode   string
	}{
		{"customer JWT for a file agent", []func(*testEnv){fileOnly, agentClaim}, jwtFor("agent_emma"), "", 403, codeAgentClaimRequired},
		{"customer JWT for a file supervisor", []func(*testEnv){fileOnly, agentClaim}, jwtFor("agent_zhang"), "", 403, codeAgentClaimRequired},
		{"staff JWT for a file agent", []func(*testEnv){fileOnly, agentClaim}, jwtFor("agent_emma", "role", "agent"), "", 200, ""},
		{"staff JWT, claim as an array", []func(*testEnv){fileOnly, agentClaim}, jwtFor("agent_emma", "role", []string{"billing", "agent"}), "", 200, ""},
		{"wrong claim value", []func(*testEnv){fileOnly, agentClaim}, jwtFor("agent_emma", "role", "customer"), "", 403, codeAgentClaimRequired},
		{"claim value differs in case", []func(*testEnv){fileOnly, agentClaim}, jwtFor("agent_emma", "role", "Agent"), "", 403, codeAgentClaimRequired},
		{"claim as a number", []func(*testEnv){fileOnly, agentClaim}, jwtFor("agent_emma", "role", 1), "", 403, codeAgentClaimRequired},
		{"claim as an object", []func(*testEnv){fileOnly, agentClaim}, jwtFor("agent_emma", "role", map[string]any{"agent": true}), "", 403, codeAgentClaimRequired},
		{"the value under another claim", []func(*testEnv){fileOnly, agentClaim}, jwtFor("agent_emma", "roles", "agent"), "", 403, codeAgentClaimRequired},
		{"no agent claim configured: a claim proves nothing", []func(*testEnv){fileOnly}, jwtFor("agent_emma", "role", "agent"), "", 403, codeAgentClaimRequired},
		{"customer not on the roster", []func(*testEnv){fileOnly, agentClaim}, jwtFor("web_amy"), "", 200, ""},
		{"customer whose token carries the claim", []func(*testEnv){fileOnly, agentClaim}, jwtFor("web_amy", "role", "agent"), "", 200, ""},
		{"admin key for a file agent", []func(*testEnv){fileOnly}, bearer(testAdminKey), `{"userID":"agent_emma"}`, 200, ""},

		{"override agent, customer JWT", []func(*testEnv){override, agentClaim}, jwtFor("agent_new"), "", 403, codeAgentClaimRequired},
		{"override supervisor, customer JWT", []func(*testEnv){override, agentClaim}, jwtFor("sup_new"), "", 403, codeAgentClaimRequired},
		{"override agent, staff JWT", []func(*testEnv){override, agentClaim}, jwtFor("agent_new", "role", "agent"), "", 200, ""},
		{"file agent missing from the override stays staff", []func(*testEnv){override, agentClaim}, jwtFor("agent_li"), "", 403, codeAgentClaimRequired},
		{"override in force, customer", []func(*testEnv){override, agentClaim}, jwtFor("web_amy"), "", 200, ""},
		{"admin key for an override agent", []func(*testEnv){override}, bearer(testAdminKey), `{"userID":"agent_new"}`, 200, ""},

		{"no desk workflow: the file decides", []func(*testEnv){withDeskError(fmtNotFound()), agentClaim}, jwtFor("web_amy"), "", 200, ""},
		{"no desk workflow, file agent", []func(*testEnv){withDeskError(fmtNotFound()), agentClaim}, jwtFor("agent_emma"), "", 403, codeAgentClaimRequired},
		{"desk unreadable: a customer is refused for now", []func(*testEnv){withDeskError(serviceerror.NewUnavailable("down")), agentClaim}, jwtFor("web_amy"), "", 503, codeUnavailable},
		{"desk unreadable, file agent", []func(*testEnv){withDeskError(serviceerror.NewUnavailable("down")), agentClaim}, jwtFor("agent_emma"), "", 403, codeAgentClaimRequired},
		{"desk unreadable, staff JWT", []func(*testEnv){withDeskError(serviceerror.NewUnavailable("down")), agentClaim}, jwtFor("agent_new", "role", "agent"), "", 200, ""},
		{"desk unreadable, admin key", []func(*testEnv){withDeskError(serviceerror.NewUnavailable("down"))}, bearer(testAdminKey), `{"userID":"agent_new"}`, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t, tt.setup...)
			r := env.do(t, http.MethodPost, "/api/v1/usersig", tt.body, "Authorization", tt.auth)
			if r.Status != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", r.Status, tt.wantStatus, r.Body)
			}
			if tt.wantCode != "" {
				if got := r.ErrorCode(t); got != tt.wantCode {
					t.Errorf("error code = %q, want %q", got, tt.wantCode)
				}
				if strings.Contains(string(r.Body), "userSig") {
					t.Errorf("refusal carries a sig: %s", r.Body)
				}
				return
			}
			var got userSigResponse
			if err := json.Unmarshal(r.Body, &got); err != nil {
				t.Fatalf("body: %v: %s", err, r.Body)
			}
			if err := env.signer.Verify(got.UserID, got.UserSig, testNow); err != nil || got.UserID == "" {
				t.Errorf("UserSig for %q does not verify: %v", got.UserID, err)
			}
		})
	}
}

func fmtNotFound() error {
	return errors.Join(errors.New("query desk"), serviceerror.NewNotFound("workflow not found"))
}

func TestJWTAgentClaimIgnoresUnsignedForms(t *testing.T) {
	// A claim read by the verifier comes only from a verified token: the same claims under the
	// wrong secret are refused outright.
	v := newJWTVerifier(Config{JWTSecret: testJWTSecret, JWTAgentClaim: "role", JWTAgentValue: "agent"}, func() time.Time { return testNow })
	good := signJWT(t, with(userClaims("agent_emma"), "role", "agent"), testJWTSecret)
	if id, err := v.verify(good); err != nil || !id.Agent || id.Subject != "agent_emma" {
		t.Fatalf("verify = %+v, %v; want agent_emma as agent", id, err)
	}
	forged := signJWT(t, with(userClaims("agent_emma"), "role", "agent"), "another-secret-another-secret-xx")
	if id, err := v.verify(forged); err == nil {
		t.Fatalf("forged token verified: %+v", id)
	}
	plain := signJWT(t, jwt.MapClaims(userClaims("agent_emma")), testJWTSecret)
	if id, err := v.verify(plain); err != nil || id.Agent {
		t.Fatalf("verify without the claim = %+v, %v; want no agent", id, err)
	}
}
