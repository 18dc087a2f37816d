package main

import (
	"context"
	"errors"
	"math"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/timdesk/timdesk/tim"
)

// userSigRequest is the optional body of POST /api/v1/usersig.
type userSigRequest struct {
	UserID string `json:"userID"`
}

// userSigResponse is the contract's UserSig answer.
type userSigResponse struct {
	SDKAppID uint64 `json:"sdkAppID"`
	UserID   string `json:"userID"`
	UserSig  string `json:"userSig"`
	ExpireAt int64  `json:"expireAt"` // Unix seconds
}

// registerUserSigRoutes mounts the UserSig endpoint (its own auth: JWT or admin key).
func (s *server) registerUserSigRoutes(r fiber.Router) {
	r.Post("/usersig", s.handleUserSig)
}

// handleUserSig serves POST /api/v1/usersig. With a business JWT it signs for the token's sub
// only (a different body userID → 403; the admin and service accounts → 403; a roster agent or
// supervisor → 403 unless the token carries the agent claim); with the admin key it signs for the
// body's userID.
// Non-admin callers are rate limited per IP.
func (s *server) handleUserSig(c *fiber.Ctx) error {
	token, hasToken := bearerToken(c)
	admin := hasToken && s.isAdminKey(token)
	if !admin {
		if ok, wait := s.limiter.allow(s.clientIP(c)); !ok {
			c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int(math.Ceil(wait.Seconds()))))
			return newError(codeRateLimited, "too many UserSig requests; retry later")
		}
	}
	if !hasToken {
		return newError(codeUnauthorized, "bearer token required")
	}
	var req userSigRequest
	if len(c.Body()) > 0 {
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
	}

	var userID string
	switch {
	case admin:
		if req.UserID == "" {
			return newError(codeInvalid, "userID required")
		}
		userID = req.UserID
	default:
		id, err := s.tokenUserID(c.UserContext(), token, req.UserID)
		if err != nil {
			return err
		}
		userID = id
	}
	if err := tim.ValidateUserID(userID); err != nil {
		return err
	}
	now := s.now()
	sig, err := s.d.Signer.SignAt(userID, now, s.cfg.UserSigTTL)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(userSigResponse{
		SDKAppID: s.d.Signer.SDKAppID(),
		UserID:   userID,
		UserSig:  sig,
		ExpireAt: now.Add(s.cfg.UserSigTTL).Unix(),
	})
}

// isStaff reports whether id is an agent or supervisor of the desk: on the roster in force (the
// desk's override, else the roster file) or on the roster file even while an override is in force.
// Until the desk has answered once since the API started (Temporal or the worker unreachable; a
// desk workflow that does not exist counts as an answer without override), an override-only agent
// cannot be told from a customer: it asks once more with the admin timeout and then refuses (503)
// rather than guess. After that, a failing desk is served from its last answer (deskSnapshot.Stale).
func (s *server) isStaff(ctx context.Context, id string) (bool, error) {
	snap := s.desk.cached(ctx)
	if !snap.Answered {
		snap = s.desk.live(ctx)
	}
	// The file's agents stay staff under an override.
	if snap.IsAgent(id) || (snap.FileRoster != nil && snap.FileRoster.IsAgent(id)) {
		return true, nil
	}
	if !snap.Answered {
		return false, wrapError(codeUnavailable, "the desk roster cannot be read yet; retry shortly", snap.DeskErr)
	}
	return false, nil
}

// tokenUserID is the UserID a login-system token may have a UserSig for: its sub, when the body
// names no other (requested), the sub is neither the admin nor the service account, and a roster
// agent's or supervisor's sub comes with the agent claim.
func (s *server) tokenUserID(ctx context.Context, token, requested string) (string, error) {
	id, err := s.jwt.verify(token)
	if err != nil {
		if errors.Is(err, errNoJWTSecret) {
			return "", wrapError(codeUnauthorized, "token authentication is not configured", err)
		}
		return "", wrapError(codeUnauthorized, "invalid or expired token", err)
	}
	sub := id.Subject
	if requested != "" && requested != sub {
		return "", newError(codeForbidden, "a token may only request its own UserSig")
	}
	// The admin's UserSig controls the whole app through the REST API, and the service
	// account speaks for the business: neither is issued to a login-system token, whatever
	// its sub says.
	if sub == s.cfg.Admin || sub == s.cfg.ServiceAccount {
		return "", newError(codeForbidden, "this account's UserSig is issued only with the admin key")
	}
	// An agent's or supervisor's UserSig receives consultations and is believed by the callbacks
	// as staff: a login system that lets a customer pick "agent_emma" as a username must not
	// hand them that desk. Such an ID needs the agent claim (or the admin key).
	if !id.Agent {
		staff, err := s.isStaff(ctx, sub)
		if err != nil {
			return "", err
		}
		if staff {
			return "", newError(codeAgentClaimRequired,
				"this userID is on the desk roster: its UserSig needs a token with the agent claim, or the admin key")
		}
	}
	return sub, nil
}
