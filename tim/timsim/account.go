package timsim

import (
	"encoding/json"
	"fmt"

	"github.com/timdesk/timdesk/tim"
)

// restAccountImport is POST /v4/im_open_login_svc/account_import (idempotent; legacy
// "Identifier" accepted for "UserID").
func (s *Server) restAccountImport(c *restCall) (any, *apiError) {
	m, aerr := c.jsonObject()
	if aerr != nil {
		return nil, aerr
	}
	var acct tim.Account
	if aerr := c.decode(&acct); aerr != nil {
		return nil, aerr
	}
	if acct.UserID == "" {
		if legacy, _, ok := fieldString(m, "Identifier"); ok {
			acct.UserID = legacy
		}
	}
	if err := tim.ValidateUserID(acct.UserID); err != nil {
		return nil, apiErr(70402, "invalid parameter: UserID must be 1..32 bytes without control characters")
	}
	if len(acct.Nick) > 500 || len(acct.FaceURL) > 500 {
		return nil, apiErr(40601, "profile value longer than 500 bytes")
	}
	s.mu.Lock()
	a := s.importLocked(acct.UserID)
	if acct.Nick != "" {
		a.Nick = acct.Nick
	}
	if acct.FaceURL != "" {
		a.FaceURL = acct.FaceURL
	}
	s.mu.Unlock()
	s.note("rest", "account_import "+acct.UserID, nil)
	return struct{}{}, nil
}

// restMultiAccountImport is POST /v4/im_open_login_svc/multiaccount_import (≤ 100; invalid ids
// come back in FailAccounts).
func (s *Server) restMultiAccountImport(c *restCall) (any, *apiError) {
	var req tim.MultiAccountImportRequest
	if aerr := c.decode(&req); aerr != nil {
		return nil, aerr
	}
	if len(req.Accounts) == 0 {
		return nil, apiErr(70402, "invalid parameter: Accounts must be a non-empty array")
	}
	if len(req.Accounts) > tim.MaxImportBatch {
		return nil, apiErr(70402, "invalid parameter: at most 100 Accounts per request, got %d", len(req.Accounts))
	}
	var failed []string
	s.mu.Lock()
	for _, id := range req.Accounts {
		if tim.ValidateUserID(id) != nil {
			failed = append(failed, id)
			continue
		}
		s.importLocked(id)
	}
	s.mu.Unlock()
	s.note("rest", fmt.Sprintf("multiaccount_import %d accounts, %d failed", len(req.Accounts), len(failed)), nil)
	return tim.MultiAccountImportResponse{FailAccounts: failed}, nil
}

// accountItems decodes CheckItem / DeleteItem (≤ 100).
func accountItems(c *restCall, key string) ([]tim.AccountItem, *apiError) {
	m, aerr := c.jsonObject()
	if aerr != nil {
		return nil, aerr
	}
	var items []tim.AccountItem
	if raw, ok := m[key]; !ok || json.Unmarshal(raw, &items) != nil || len(items) == 0 {
		return nil, apiErr(70402, "invalid parameter: %s must be a non-empty array of {\"UserID\"}", key)
	}
	if len(items) > tim.MaxCheckBatch {
		return nil, apiErr(70402, "invalid parameter: at most 100 %s entries, got %d", key, len(items))
	}
	return items, nil
}

// restAccountCheck is POST /v4/im_open_login_svc/account_check.
func (s *Server) restAccountCheck(c *restCall) (any, *apiError) {
	items, aerr := accountItems(c, "CheckItem")
	if aerr != nil {
		return nil, aerr
	}
	resp := tim.AccountCheckResponse{ResultItem: []tim.AccountCheckResult{}}
	s.mu.Lock()
	for _, it := range items {
		r := tim.AccountCheckResult{UserID: it.UserID, AccountStatus: tim.AccountNotImported}
		if s.accounts[it.UserID] != nil {
			r.AccountStatus = tim.AccountImported
		}
		resp.ResultItem = append(resp.ResultItem, r)
	}
	s.mu.Unlock()
	return resp, nil
}

// restAccountDelete is POST /v4/im_open_login_svc/account_delete (the emulator behaves as a
// trial-edition app, where deleting is allowed). The admin cannot be deleted (71000).
func (s *Server) restAccountDelete(c *restCall) (any, *apiError) {
	items, aerr := accountItems(c, "DeleteItem")
	if aerr != nil {
		return nil, aerr
	}
	resp := tim.AccountDeleteResponse{ResultItem: []tim.AccountDeleteResult{}}
	s.mu.Lock()
	for _, it := range items {
		r := tim.AccountDeleteResult{UserID: it.UserID}
		switch {
		case it.UserID == s.opts.Admin:
			r.ResultCode, r.ResultInfo = 71000, "the App admin account cannot be deleted"
		case s.accounts[it.UserID] == nil:
			r.ResultCode, r.ResultInfo = 70107, "account does not exist"
		default:
			delete(s.accounts, it.UserID)
			s.accountsChangedLocked()
		}
		resp.ResultItem = append(resp.ResultItem, r)
	}
	s.mu.Unlock()
	s.note("rest", fmt.Sprintf("account_delete %d accounts", len(items)), nil)
	return resp, nil
}

// restQueryOnlineStatus is POST /v4/openim/query_online_status (≤ 500 ids; unknown ids in
// ErrorList with 70107). Presence comes from /sim/login, /sim/logout and /sim/disconnect.
func (s *Server) restQueryOnlineStatus(c *restCall) (any, *apiError) {
	m, aerr := c.jsonObject()
	if aerr != nil {
		return nil, aerr
	}
	var ids []string
	if raw, ok := m["To_Account"]; !ok || json.Unmarshal(raw, &ids) != nil {
		return nil, apiErr(90003, "To_Account must be an array of strings")
	}
	if len(ids) == 0 {
		return nil, apiErr(90001, "Fail to Parse json data of body: To_Account is empty")
	}
	if len(ids) > tim.MaxOnlineStatusList {
		return nil, apiErr(90011, "To_Account has %d entries: at most 500", len(ids))
	}
	var req tim.QueryOnlineStatusRequest
	if aerr := c.decode(&req); aerr != nil {
		return nil, aerr
	}
	resp := tim.QueryOnlineStatusResponse{QueryResult: []tim.OnlineStatus{}}
	s.mu.Lock()
	for _, id := range req.ToAccount {
		a := s.accounts[id]
		if a == nil {
			resp.ErrorList = append(resp.ErrorList, tim.AccountError{ToAccount: id, ErrorCode: 70107})
			continue
		}
		st := tim.OnlineStatus{ToAccount: id, Status: tim.StatusOffline}
		if a.Online {
			st.Status = tim.StatusOnline
			if req.IsNeedDetail == 1 {
				st.Detail = []tim.PlatformStatus{{Platform: a.Platform, Status: tim.StatusOnline}}
			}
		}
		resp.QueryResult = append(resp.QueryResult, st)
	}
	s.mu.Unlock()
	return resp, nil
}
