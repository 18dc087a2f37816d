package main

import (
	"errors"
	"net/url"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/timdesk/timdesk/tim"
)

// Account import limits.
const (
	accountChunk    = 100  // Tencent's multiaccount_import and account_check take ≤ 100 IDs
	maxBatchAccount = 5000 // per request
	maxNickBytes    = 500
	maxFaceURLBytes = 500
)

// registerAccountRoutes mounts the account admin API.
func (s *server) registerAccountRoutes(r adminRouter) {
	r.Post("/accounts", s.handleImportAccount)
	r.Post("/accounts/batch", s.handleImportAccounts)
	r.Post("/accounts/check", s.handleCheckAccounts)
}

// importAccountRequest is the body of POST /api/v1/accounts.
type importAccountRequest struct {
	UserID  string `json:"userID"`
	Nick    string `json:"nick"`
	FaceURL string `json:"faceURL"`
	Avatar  string `json:"avatar"` // alias of faceURL
}

// handleImportAccount serves POST /api/v1/accounts: imports one account with nick and avatar.
func (s *server) handleImportAccount(c *fiber.Ctx) error {
	var req importAccountRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if err := tim.ValidateUserID(req.UserID); err != nil {
		return err
	}
	face := req.FaceURL
	if face == "" {
		face = req.Avatar
	}
	if len(req.Nick) > maxNickBytes {
		return newError(codeInvalid, "nick too long")
	}
	if face != "" {
		u, err := url.Parse(face)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(face) > maxFaceURLBytes {
			return newError(codeInvalid, "avatar must be an http(s) URL of at most 500 bytes")
		}
	}
	if err := s.d.Accounts.ImportAccount(c.UserContext(), tim.Account{UserID: req.UserID, Nick: req.Nick, FaceURL: face}); err != nil {
		return err
	}
	return c.JSON(fiber.Map{"userID": req.UserID, "imported": true})
}

// userIDsRequest is the body of the batch and check routes.
type userIDsRequest struct {
	UserIDs []string `json:"userIDs"`
}

// accountResult is one account's outcome in batch answers.
type accountResult struct {
	UserID   string `json:"userID"`
	Imported bool   `json:"imported"`
	Error    string `json:"error,omitempty"`
}

// handleImportAccounts serves POST /api/v1/accounts/batch: imports up to 5000 accounts in chunks of
// 100 and answers per account.
func (s *server) handleImportAccounts(c *fiber.Ctx) error {
	ids, err := s.userIDList(c)
	if err != nil {
		return err
	}
	results := make([]accountResult, 0, len(ids))
	valid := make([]string, 0, len(ids))
	for _, id := range ids {
		if tim.ValidateUserID(id) != nil {
			results = append(results, accountResult{UserID: id, Error: "invalid_user_id"})
			continue
		}
		valid = append(valid, id)
	}
	imported, failed := 0, len(results)
	for start := 0; start < len(valid); start += accountChunk {
		chunk := valid[start:min(start+accountChunk, len(valid))]
		failedIDs, err := s.d.Accounts.ImportAccounts(c.UserContext(), chunk)
		reason := ""
		if err != nil {
			reason = importErrorCode(err)
			s.log.Warn("import accounts chunk failed", "requestID", requestID(c), "size", len(chunk), "error", err)
		}
		bad := make(map[string]bool, len(failedIDs))
		for _, id := range failedIDs {
			bad[id] = true
		}
		for _, id := range chunk {
			switch {
			case err != nil:
				results = append(results, accountResult{UserID: id, Error: reason})
				failed++
			case bad[id]:
				results = append(results, accountResult{UserID: id, Error: "rejected"})
				failed++
			default:
				results = append(results, accountResult{UserID: id, Imported: true})
				imported++
			}
		}
	}
	return c.JSON(fiber.Map{"imported": imported, "failed": failed, "results": results})
}

// importErrorCode is the client-safe reason for a failed chunk.
func importErrorCode(err error) string {
	var apiErr *tim.APIError
	if errors.As(err, &apiErr) {
		return "tencent_error_" + strconv.Itoa(apiErr.Code)
	}
	code, _ := classify(err)
	return code
}

// handleCheckAccounts serves POST /api/v1/accounts/check: which of up to 5000 userIDs are imported.
func (s *server) handleCheckAccounts(c *fiber.Ctx) error {
	ids, err := s.userIDList(c)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if err := tim.ValidateUserID(id); err != nil {
			return wrapError(codeInvalid, "invalid userID in userIDs", err)
		}
	}
	out := make([]tim.AccountCheckResult, 0, len(ids))
	for start := 0; start < len(ids); start += accountChunk {
		res, err := s.d.Accounts.CheckAccounts(c.UserContext(), ids[start:min(start+accountChunk, len(ids))])
		if err != nil {
			return err
		}
		out = append(out, res...)
	}
	return c.JSON(fiber.Map{"results": out})
}

// userIDList decodes {"userIDs": [...]}, dropping duplicates and keeping order.
func (s *server) userIDList(c *fiber.Ctx) ([]string, error) {
	var req userIDsRequest
	if err := decodeJSON(c, &req); err != nil {
		return nil, err
	}
	if len(req.UserIDs) == 0 {
		return nil, newError(codeInvalid, "userIDs required")
	}
	if len(req.UserIDs) > maxBatchAccount {
		return nil, newError(codeInvalid, "at most 5000 userIDs per request")
	}
	seen := make(map[string]bool, len(req.UserIDs))
	ids := make([]string, 0, len(req.UserIDs))
	for _, id := range req.UserIDs {
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	return ids, nil
}
