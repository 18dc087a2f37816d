package main

import (
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
// only (a different body userID → 403; the admin and service accounts → 403); with the admin key
// it signs for the body's userID.
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
		sub, err := s.jwt.subject(token)
		if err != nil {
			if errors.Is(err, errNoJWTSecret) {
				return wrapError(codeUnauthorized, "token authentication is not configured", err)
			}
			return wrapError(codeUnauthorized, "invalid or expired token", err)
		}
		if req.UserID != "" && req.UserID != sub {
			return newError(codeForbidden, "a token may only request its own UserSig")
		}
		// The admin's UserSig controls the whole app through the REST API, and the service
		// account speaks for the business: neither is issued to a login-system token, whatever
		// its sub says.
		if sub == s.cfg.Admin || sub == s.cfg.ServiceAccount {
			return newError(codeForbidden, "this account's UserSig is issued only with the admin key")
		}
		userID = sub
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
