package tim

import (
	"context"
	"fmt"
	"slices"
)

// Batch limits of the account commands (per request; the client chunks larger inputs).
const (
	MaxImportBatch      = 100 // multiaccount_import
	MaxCheckBatch       = 100 // account_check
	MaxDeleteBatch      = 100 // account_delete
	MaxOnlineStatusList = 500 // query_online_status
)

// Account is the body of v4/im_open_login_svc/account_import.
type Account struct {
	UserID  string `json:"UserID"`
	Nick    string `json:"Nick,omitempty"`
	FaceURL string `json:"FaceUrl,omitempty"`
}

// ImportAccount imports (idempotently) one account (v4/im_open_login_svc/account_import).
func (c *Client) ImportAccount(ctx context.Context, acct Account) error {
	if err := ValidateUserID(acct.UserID); err != nil {
		return fmt.Errorf("tim account_import: %w", err)
	}
	return c.call(ctx, CommandAccountImport, acct, nil)
}

// MultiAccountImportRequest is the body of v4/im_open_login_svc/multiaccount_import (≤ 100).
type MultiAccountImportRequest struct {
	Accounts []string `json:"Accounts"`
}

// MultiAccountImportResponse lists the accounts that failed to import.
type MultiAccountImportResponse struct {
	Envelope
	FailAccounts []string `json:"FailAccounts,omitempty"`
}

// ImportAccounts imports userIDs in chunks of 100 (multiaccount_import) and returns the ones
// Tencent reported as failed. On an error it returns the failures collected so far.
func (c *Client) ImportAccounts(ctx context.Context, userIDs []string) (failed []string, err error) {
	for chunk := range slices.Chunk(userIDs, MaxImportBatch) {
		var resp MultiAccountImportResponse
		if err := c.call(ctx, CommandMultiAccountImport, MultiAccountImportRequest{Accounts: chunk}, &resp); err != nil {
			return failed, err
		}
		failed = append(failed, resp.FailAccounts...)
	}
	return failed, nil
}

// AccountItem names one account in account_check and account_delete requests.
type AccountItem struct {
	UserID string `json:"UserID"`
}

// Account import states of AccountCheckResult.AccountStatus.
const (
	AccountImported    = "Imported"
	AccountNotImported = "NotImported"
)

// AccountCheckRequest is the body of v4/im_open_login_svc/account_check (≤ 100).
type AccountCheckRequest struct {
	CheckItem []AccountItem `json:"CheckItem"`
}

// AccountCheckResult is one ResultItem of account_check.
type AccountCheckResult struct {
	UserID        string `json:"UserID"`
	ResultCode    int    `json:"ResultCode"`
	ResultInfo    string `json:"ResultInfo"`
	AccountStatus string `json:"AccountStatus"`
}

// AccountCheckResponse is the result of account_check.
type AccountCheckResponse struct {
	Envelope
	ResultItem []AccountCheckResult `json:"ResultItem"`
}

// CheckAccounts reports whether each id is imported (account_check, chunks of 100).
func (c *Client) CheckAccounts(ctx context.Context, userIDs []string) ([]AccountCheckResult, error) {
	var out []AccountCheckResult
	for chunk := range slices.Chunk(userIDs, MaxCheckBatch) {
		var resp AccountCheckResponse
		if err := c.call(ctx, CommandAccountCheck, AccountCheckRequest{CheckItem: accountItems(chunk)}, &resp); err != nil {
			return out, err
		}
		out = append(out, resp.ResultItem...)
	}
	return out, nil
}

// AccountDeleteRequest is the body of v4/im_open_login_svc/account_delete (≤ 100).
type AccountDeleteRequest struct {
	DeleteItem []AccountItem `json:"DeleteItem"`
}

// AccountDeleteResult is one ResultItem of account_delete (ResultCode 70107: did not exist).
type AccountDeleteResult struct {
	UserID     string `json:"UserID"`
	ResultCode int    `json:"ResultCode"`
	ResultInfo string `json:"ResultInfo"`
}

// AccountDeleteResponse is the result of account_delete.
type AccountDeleteResponse struct {
	Envelope
	ResultItem []AccountDeleteResult `json:"ResultItem"`
}

// DeleteAccounts deletes accounts (account_delete, chunks of 100). Tencent allows this only for
// trial-edition apps (others get 71000).
func (c *Client) DeleteAccounts(ctx context.Context, userIDs []string) ([]AccountDeleteResult, error) {
	var out []AccountDeleteResult
	for chunk := range slices.Chunk(userIDs, MaxDeleteBatch) {
		var resp AccountDeleteResponse
		if err := c.call(ctx, CommandAccountDelete, AccountDeleteRequest{DeleteItem: accountItems(chunk)}, &resp); err != nil {
			return out, err
		}
		out = append(out, resp.ResultItem...)
	}
	return out, nil
}

func accountItems(ids []string) []AccountItem {
	items := make([]AccountItem, len(ids))
	for i, id := range ids {
		items[i] = AccountItem{UserID: id}
	}
	return items
}

// Online states of OnlineStatus.Status.
const (
	StatusOnline     = "Online"
	StatusPushOnline = "PushOnline"
	StatusOffline    = "Offline"
)

// QueryOnlineStatusRequest is the body of v4/openim/query_online_status (≤ 500 ids).
type QueryOnlineStatusRequest struct {
	ToAccount    []string `json:"To_Account"`
	IsNeedDetail int      `json:"IsNeedDetail,omitempty"`
}

// PlatformStatus is the state of one device platform.
type PlatformStatus struct {
	Platform string `json:"Platform"`
	Status   string `json:"Status"`
}

// OnlineStatus is one QueryResult entry. ErrorCode is not part of Tencent's QueryResult: the
// client sets it (with an empty Status) for ids the server put into ErrorList.
type OnlineStatus struct {
	ToAccount string           `json:"To_Account"`
	Status    string           `json:"Status"`
	Detail    []PlatformStatus `json:"Detail,omitempty"`
	ErrorCode int              `json:"ErrorCode,omitempty"`
}

// QueryOnlineStatusResponse is the result of query_online_status.
type QueryOnlineStatusResponse struct {
	Envelope
	QueryResult []OnlineStatus `json:"QueryResult"`
	ErrorList   []AccountError `json:"ErrorList,omitempty"`
}

// QueryOnlineStatus returns the online state of each id with per-platform detail
// (query_online_status, chunks of 500). Ids listed in the server's ErrorList come back with an
// empty Status and their ErrorCode.
func (c *Client) QueryOnlineStatus(ctx context.Context, userIDs []string) ([]OnlineStatus, error) {
	var out []OnlineStatus
	for chunk := range slices.Chunk(userIDs, MaxOnlineStatusList) {
		var resp QueryOnlineStatusResponse
		if err := c.call(ctx, CommandQueryOnlineStatus, QueryOnlineStatusRequest{ToAccount: chunk, IsNeedDetail: 1}, &resp); err != nil {
			return out, err
		}
		out = append(out, resp.QueryResult...)
		for _, e := range resp.ErrorList {
			out = append(out, OnlineStatus{ToAccount: e.ToAccount, ErrorCode: e.ErrorCode})
		}
	}
	return out, nil
}
