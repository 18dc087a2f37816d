package tim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

var testNow = time.Unix(1700000000, 0)

// fakeReq is one request the fake server saw.
type fakeReq struct {
	Method, Path, RawQuery, ContentType string
	Query                               url.Values
	Body                                []byte
}

// fakeIM is an httptest Tencent IM fake; reply answers the n-th (0-based) request.
type fakeIM struct {
	srv   *httptest.Server
	mu    sync.Mutex
	reqs  []fakeReq
	reply func(r fakeReq, n int) (status int, body string)
}

func (f *fakeIM) requests() []fakeReq {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeReq(nil), f.reqs...)
}

// newFakeIM starts a fake and returns a client for it (fixed clock testNow).
func newFakeIM(t *testing.T, reply func(r fakeReq, n int) (int, string)) (*fakeIM, *Client) {
	t.Helper()
	f := &fakeIM{reply: reply}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		fr := fakeReq{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, ContentType: r.Header.Get("Content-Type"), Query: r.URL.Query(), Body: body}
		f.mu.Lock()
		n := len(f.reqs)
		f.reqs = append(f.reqs, fr)
		f.mu.Unlock()
		status, out := f.reply(fr, n)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, out)
	}))
	t.Cleanup(f.srv.Close)
	cfg := DefaultConfig(testAppID, testKey, "")
	cfg.BaseURL = f.srv.URL + "/"
	cfg.HTTPClient = f.srv.Client()
	cfg.Now = func() time.Time { return testNow }
	return f, NewClient(cfg)
}

func ok(extra string) string {
	if extra != "" {
		extra = "," + extra
	}
	return `{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":""` + extra + `}`
}

// jsonEqual compares two JSON documents structurally.
func jsonEqual(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("request body %s: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("want %s: %v", want, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("body:\n got %s\nwant %s", got, want)
	}
}

func TestRequestQuery(t *testing.T) {
	f, c := newFakeIM(t, func(fakeReq, int) (int, string) { return 200, ok(`"MsgTime":1,"MsgKey":"k"`) })
	if _, err := c.SendMsg(context.Background(), SendMsgRequest{ToAccount: "u", MsgRandom: 1, MsgBody: MsgBody{TextElem("hi")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SendMsg(context.Background(), SendMsgRequest{ToAccount: "u", MsgRandom: 1, MsgBody: MsgBody{TextElem("hi")}}); err != nil {
		t.Fatal(err)
	}
	reqs := f.requests()
	r := reqs[0]
	if r.Method != http.MethodPost || r.Path != "/v4/openim/sendmsg" || r.ContentType != "application/json" {
		t.Errorf("got %s %s (%s)", r.Method, r.Path, r.ContentType)
	}
	keys := make([]string, 0, len(r.Query))
	for k := range r.Query {
		keys = append(keys, k)
	}
	if len(keys) != 5 {
		t.Errorf("query keys %v, want exactly sdkappid identifier usersig random contenttype", keys)
	}
	if got := r.Query.Get("sdkappid"); got != "1400000000" {
		t.Errorf("sdkappid %q", got)
	}
	if got := r.Query.Get("identifier"); got != "administrator" {
		t.Errorf("identifier %q", got)
	}
	if got := r.Query.Get("contenttype"); got != "json" {
		t.Errorf("contenttype %q", got)
	}
	if _, err := strconv.ParseUint(r.Query.Get("random"), 10, 32); err != nil {
		t.Errorf("random %q: %v", r.Query.Get("random"), err)
	}
	sig := r.Query.Get("usersig")
	if err := NewSigner(testAppID, testKey).Verify("administrator", sig, testNow); err != nil {
		t.Errorf("usersig does not verify: %v", err)
	}
	if strings.Contains(r.RawQuery, "%2A") {
		t.Errorf("usersig '*' was percent-encoded: %s", r.RawQuery)
	}
	if reqs[1].Query.Get("usersig") != sig {
		t.Error("admin usersig not cached between calls")
	}
}

func TestCommands(t *testing.T) {
	lifetime := 0
	tests := []struct {
		name     string
		path     string
		reply    string
		call     func(c *Client) (any, error)
		wantBody string
		want     any
	}{
		{
			name: "sendmsg", path: "/v4/openim/sendmsg",
			reply: ok(`"MsgTime":1557481126,"MsgKey":"48374_2837546_1557481126","MsgId":"144-1557481126-2837546"`),
			call: func(c *Client) (any, error) {
				r, err := c.SendMsg(context.Background(), SendMsgRequest{
					SyncOtherMachine: 2, FromAccount: "svc_bot", ToAccount: "u_42", MsgLifeTime: &lifetime,
					MsgSeq: 1827364, MsgRandom: 3987654321, MsgBody: MsgBody{TextElem("Your order shipped")},
					CloudCustomData: `{"orderId":"A17"}`, ForbidCallbackControl: []string{ForbidBeforeSendMsgCallback},
				})
				return [3]any{r.MsgTime, r.MsgKey, r.MsgId}, err
			},
			wantBody: `{"SyncOtherMachine":2,"From_Account":"svc_bot","To_Account":"u_42","MsgLifeTime":0,"MsgSeq":1827364,"MsgRandom":3987654321,
				"MsgBody":[{"MsgType":"TIMTextElem","MsgContent":{"Text":"Your order shipped"}}],"CloudCustomData":"{\"orderId\":\"A17\"}",
				"ForbidCallbackControl":["ForbidBeforeSendMsgCallback"]}`,
			want: [3]any{int64(1557481126), "48374_2837546_1557481126", "144-1557481126-2837546"},
		},
		{
			name: "sendmsg minimal", path: "/v4/openim/sendmsg", reply: ok(`"MsgTime":1,"MsgKey":"k"`),
			call: func(c *Client) (any, error) {
				r, err := c.SendMsg(context.Background(), SendMsgRequest{ToAccount: "u", MsgBody: MsgBody{CustomElem("d", "", "")}})
				return r.MsgKey, err
			},
			wantBody: `{"To_Account":"u","MsgRandom":0,"MsgBody":[{"MsgType":"TIMCustomElem","MsgContent":{"Data":"d","Desc":"","Ext":""}}]}`,
			want:     "k",
		},
		{
			name: "batchsendmsg partial", path: "/v4/openim/batchsendmsg",
			reply: `{"ActionStatus":"SomeError","ErrorCode":0,"ErrorInfo":"","MsgKey":"mk","ErrorList":[{"To_Account":"gone","ErrorCode":70107}]}`,
			call: func(c *Client) (any, error) {
				r, err := c.BatchSendMsg(context.Background(), BatchSendMsgRequest{FromAccount: "a", ToAccount: []string{"b", "gone"}, MsgRandom: 7, MsgBody: MsgBody{TextElem("x")}})
				return [2]any{r.MsgKey, r.ErrorList}, err
			},
			wantBody: `{"From_Account":"a","To_Account":["b","gone"],"MsgRandom":7,"MsgBody":[{"MsgType":"TIMTextElem","MsgContent":{"Text":"x"}}]}`,
			want:     [2]any{"mk", []AccountError{{ToAccount: "gone", ErrorCode: 70107}}},
		},
		{
			name: "account_import", path: "/v4/im_open_login_svc/account_import", reply: ok(""),
			call: func(c *Client) (any, error) {
				return nil, c.ImportAccount(context.Background(), Account{UserID: "u_42", Nick: "Alice", FaceURL: "https://x/y.png"})
			},
			wantBody: `{"UserID":"u_42","Nick":"Alice","FaceUrl":"https://x/y.png"}`,
		},
		{
			name: "multiaccount_import", path: "/v4/im_open_login_svc/multiaccount_import", reply: ok(`"FailAccounts":["u2"]`),
			call: func(c *Client) (any, error) {
				return c.ImportAccounts(context.Background(), []string{"u1", "u2"})
			},
			wantBody: `{"Accounts":["u1","u2"]}`,
			want:     []string{"u2"},
		},
		{
			name: "account_check", path: "/v4/im_open_login_svc/account_check",
			reply: ok(`"ResultItem":[{"UserID":"u1","ResultCode":0,"ResultInfo":"","AccountStatus":"Imported"},{"UserID":"u2","ResultCode":0,"ResultInfo":"","AccountStatus":"NotImported"}]`),
			call: func(c *Client) (any, error) {
				return c.CheckAccounts(context.Background(), []string{"u1", "u2"})
			},
			wantBody: `{"CheckItem":[{"UserID":"u1"},{"UserID":"u2"}]}`,
			want:     []AccountCheckResult{{UserID: "u1", AccountStatus: AccountImported}, {UserID: "u2", AccountStatus: AccountNotImported}},
		},
		{
			name: "account_delete", path: "/v4/im_open_login_svc/account_delete",
			reply: ok(`"ResultItem":[{"UserID":"u1","ResultCode":70107,"ResultInfo":"not exist"}]`),
			call: func(c *Client) (any, error) {
				return c.DeleteAccounts(context.Background(), []string{"u1"})
			},
			wantBody: `{"DeleteItem":[{"UserID":"u1"}]}`,
			want:     []AccountDeleteResult{{UserID: "u1", ResultCode: 70107, ResultInfo: "not exist"}},
		},
		{
			name: "query_online_status", path: "/v4/openim/query_online_status",
			reply: ok(`"QueryResult":[{"To_Account":"u1","Status":"Online","Detail":[{"Platform":"Web","Status":"Online"}]}],"ErrorList":[{"To_Account":"u2","ErrorCode":70107}]`),
			call: func(c *Client) (any, error) {
				return c.QueryOnlineStatus(context.Background(), []string{"u1", "u2"})
			},
			wantBody: `{"To_Account":["u1","u2"],"IsNeedDetail":1}`,
			want: []OnlineStatus{
				{ToAccount: "u1", Status: StatusOnline, Detail: []PlatformStatus{{Platform: "Web", Status: StatusOnline}}},
				{ToAccount: "u2", ErrorCode: 70107},
			},
		},
		{
			name: "admin_getroammsg", path: "/v4/openim/admin_getroammsg",
			reply: ok(`"Complete":1,"MsgCnt":1,"LastMsgTime":1584669680,"LastMsgKey":"k1","MsgList":[{"From_Account":"u1","To_Account":"u2","MsgSeq":1,"MsgRandom":2,"MsgTimeStamp":1584669680,"MsgFlagBits":0,"IsPeerRead":1,"MsgKey":"k1","MsgBody":[{"MsgType":"TIMTextElem","MsgContent":{"Text":"hi"}}],"CloudCustomData":""}]`),
			call: func(c *Client) (any, error) {
				r, err := c.AdminGetRoamMsg(context.Background(), AdminGetRoamMsgRequest{OperatorAccount: "u2", PeerAccount: "u1", MaxCnt: 100, MinTime: 1584669600, MaxTime: 1584673200})
				return [3]any{r.Complete, r.LastMsgKey, r.MsgList[0].MsgBody.Text()}, err
			},
			wantBody: `{"Operator_Account":"u2","Peer_Account":"u1","MaxCnt":100,"MinTime":1584669600,"MaxTime":1584673200}`,
			want:     [3]any{1, "k1", "hi"},
		},
		{
			name: "admin_msgwithdraw", path: "/v4/openim/admin_msgwithdraw", reply: ok(""),
			call: func(c *Client) (any, error) {
				return nil, c.AdminMsgWithdraw(context.Background(), AdminMsgWithdrawRequest{FromAccount: "a", ToAccount: "b", MsgKey: "31906_833502_1572869830"})
			},
			wantBody: `{"From_Account":"a","To_Account":"b","MsgKey":"31906_833502_1572869830"}`,
		},
		{
			name: "send_group_msg", path: "/v4/group_open_http_svc/send_group_msg", reply: ok(`"MsgTime":1600000000,"MsgSeq":42`),
			call: func(c *Client) (any, error) {
				r, err := c.SendGroupMsg(context.Background(), SendGroupMsgRequest{GroupId: "g1", Random: 9, FromAccount: "svc", MsgPriority: MsgPriorityHigh, MsgBody: MsgBody{TextElem("all")}})
				return [2]any{r.MsgTime, r.MsgSeq}, err
			},
			wantBody: `{"GroupId":"g1","Random":9,"From_Account":"svc","MsgPriority":"High","MsgBody":[{"MsgType":"TIMTextElem","MsgContent":{"Text":"all"}}]}`,
			want:     [2]any{int64(1600000000), uint64(42)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, c := newFakeIM(t, func(fakeReq, int) (int, string) { return 200, tt.reply })
			got, err := tt.call(c)
			if err != nil {
				t.Fatal(err)
			}
			reqs := f.requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests, want 1", len(reqs))
			}
			if reqs[0].Path != tt.path {
				t.Errorf("path %s, want %s", reqs[0].Path, tt.path)
			}
			jsonEqual(t, reqs[0].Body, tt.wantBody)
			if tt.want != nil && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("result:\n got %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

func TestInvalidRequestsNotSent(t *testing.T) {
	f, c := newFakeIM(t, func(fakeReq, int) (int, string) { return 200, ok("") })
	ctx := context.Background()
	tooMany := make([]string, MaxBatchRecipients+1)
	calls := map[string]func() error{
		"sendmsg no to":   func() error { _, err := c.SendMsg(ctx, SendMsgRequest{MsgBody: MsgBody{TextElem("x")}}); return err },
		"sendmsg no body": func() error { _, err := c.SendMsg(ctx, SendMsgRequest{ToAccount: "u"}); return err },
		"batch empty": func() error {
			_, err := c.BatchSendMsg(ctx, BatchSendMsgRequest{MsgBody: MsgBody{TextElem("x")}})
			return err
		},
		"batch 501": func() error {
			_, err := c.BatchSendMsg(ctx, BatchSendMsgRequest{ToAccount: tooMany, MsgBody: MsgBody{TextElem("x")}})
			return err
		},
		"batch no body": func() error { _, err := c.BatchSendMsg(ctx, BatchSendMsgRequest{ToAccount: []string{"a"}}); return err },
		"roam no peer": func() error {
			_, err := c.AdminGetRoamMsg(ctx, AdminGetRoamMsgRequest{OperatorAccount: "a"})
			return err
		},
		"withdraw no key": func() error {
			return c.AdminMsgWithdraw(ctx, AdminMsgWithdrawRequest{FromAccount: "a", ToAccount: "b"})
		},
		"group no id": func() error {
			_, err := c.SendGroupMsg(ctx, SendGroupMsgRequest{MsgBody: MsgBody{TextElem("x")}})
			return err
		},
		"group no body":                    func() error { _, err := c.SendGroupMsg(ctx, SendGroupMsgRequest{GroupId: "g"}); return err },
		"import bad id (ErrInvalidUserID)": func() error { return c.ImportAccount(ctx, Account{UserID: ""}) },
	}
	for name, call := range calls {
		err := call()
		if err == nil || !errors.Is(err, ErrInvalidRequest) && !errors.Is(err, ErrInvalidUserID) {
			t.Errorf("%s: got %v", name, err)
		}
		if !IsPermanent(err) || IsRetryable(err) {
			t.Errorf("%s: not permanent", name)
		}
	}
	if n := len(f.requests()); n != 0 {
		t.Errorf("%d requests sent for invalid input", n)
	}
	// Empty id lists are no-ops.
	if failed, err := c.ImportAccounts(ctx, nil); err != nil || failed != nil {
		t.Errorf("ImportAccounts(nil): %v %v", failed, err)
	}
	if r, err := c.QueryOnlineStatus(ctx, []string{}); err != nil || r != nil {
		t.Errorf("QueryOnlineStatus(empty): %v %v", r, err)
	}
	if n := len(f.requests()); n != 0 {
		t.Errorf("%d requests sent for empty lists", n)
	}
}

func TestEnvelopeErrors(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		body      string
		wantCode  int
		wantHTTP  int
		wantBad   bool
		retryable bool
	}{
		{name: "ok with SomeError status", status: 200, body: `{"ActionStatus":"SomeError","ErrorCode":0,"ErrorInfo":"","MsgKey":"k","ErrorList":[]}`},
		{name: "ok extra fields", status: 200, body: `{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":"","RequestId":"r-1","MsgKey":"k"}`},
		{name: "only ActionStatus OK", status: 200, body: `{"ActionStatus":"OK"}`},
		{name: "only ActionStatus FAIL", status: 200, body: `{"ActionStatus":"FAIL","ErrorInfo":"x"}`, wantHTTP: 200},
		{name: "json parse error", status: 200, body: `{"ActionStatus":"FAIL","ErrorCode":90001,"ErrorInfo":"Fail to Parse json data of body, Please check it"}`, wantCode: 90001},
		{name: "rate limited", status: 200, body: `{"ActionStatus":"FAIL","ErrorCode":60007,"ErrorInfo":"freq limit"}`, wantCode: 60007, retryable: true},
		{name: "internal", status: 200, body: `{"ActionStatus":"FAIL","ErrorCode":91000,"ErrorInfo":"internal"}`, wantCode: 91000, retryable: true},
		{name: "not imported", status: 200, body: `{"ActionStatus":"FAIL","ErrorCode":90012,"ErrorInfo":"To_Account not imported"}`, wantCode: 90012},
		{name: "bad gateway", status: 502, body: `<html>bad gateway</html>`, wantHTTP: 502, retryable: true},
		{name: "too many requests", status: 429, body: ``, wantHTTP: 429, retryable: true},
		{name: "forbidden", status: 403, body: `{}`, wantHTTP: 403},
		{name: "html 200", status: 200, body: `<html>captive portal</html>`, wantBad: true, retryable: true},
		{name: "empty object", status: 200, body: `{}`, wantBad: true, retryable: true},
		{name: "empty body", status: 200, body: ``, wantBad: true, retryable: true},
		{name: "wrong type", status: 200, body: `{"ActionStatus":"OK","ErrorCode":0,"MsgKey":5}`, wantBad: true, retryable: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, c := newFakeIM(t, func(fakeReq, int) (int, string) { return tt.status, tt.body })
			_, err := c.SendMsg(context.Background(), SendMsgRequest{ToAccount: "u", MsgRandom: 1, MsgBody: MsgBody{TextElem("hi")}})
			if n := len(f.requests()); n != 1 {
				t.Errorf("%d requests, want 1 (no retries in the client)", n)
			}
			switch {
			case tt.wantCode == 0 && tt.wantHTTP == 0 && !tt.wantBad:
				if err != nil {
					t.Fatalf("got %v, want success", err)
				}
				return
			case tt.wantBad:
				if !errors.Is(err, ErrBadResponse) {
					t.Fatalf("got %v, want ErrBadResponse", err)
				}
			default:
				apiErr, ok := errors.AsType[*APIError](err)
				if !ok {
					t.Fatalf("got %T %v, want *APIError", err, err)
				}
				if apiErr.Code != tt.wantCode || (tt.wantHTTP != 0 && apiErr.HTTPStatus != tt.wantHTTP) || apiErr.Command != CommandSendMsg {
					t.Errorf("got %+v", apiErr)
				}
			}
			if got := IsRetryable(err); got != tt.retryable {
				t.Errorf("IsRetryable(%v) = %v, want %v", err, got, tt.retryable)
			}
		})
	}
}

func TestClassification(t *testing.T) {
	tests := []struct {
		code, http                                  int
		retry, resign, permanent, notImp, ratelimit bool
	}{
		{code: 60007, retry: true, ratelimit: true}, {code: 60011, retry: true, ratelimit: true},
		{code: 60018, retry: true, ratelimit: true}, {code: 60019, retry: true, ratelimit: true},
		{code: 10023, retry: true, ratelimit: true},
		{code: 60008, retry: true}, {code: 60014, retry: true}, {code: 20004, retry: true}, {code: 20005, retry: true},
		{code: 70169, retry: true}, {code: 70202, retry: true}, {code: 70500, retry: true}, {code: 70050, retry: true},
		{code: 90992, retry: true}, {code: 90994, retry: true}, {code: 90995, retry: true}, {code: 91000, retry: true},
		{code: 10002, retry: true}, {code: 30006, retry: true}, {code: 30007, retry: true}, {code: 40006, retry: true},
		{code: 20028, retry: true}, {code: 80003, retry: true},
		{code: 70001, resign: true}, {code: 70002, resign: true}, {code: 70003, resign: true}, {code: 70005, resign: true},
		{code: 70009, resign: true}, {code: 70013, resign: true}, {code: 70014, resign: true}, {code: 70016, resign: true},
		{code: 70020, resign: true}, {code: 60004, resign: true}, {code: 60005, resign: true}, {code: 20002, resign: true},
		{code: 70107, permanent: true, notImp: true}, {code: 20003, permanent: true, notImp: true},
		{code: 90012, permanent: true, notImp: true}, {code: 90048, permanent: true, notImp: true},
		{code: 90008, permanent: true, notImp: true},
		{code: 60002, permanent: true}, {code: 60003, permanent: true}, {code: 60006, permanent: true},
		{code: 90009, permanent: true}, {code: 70403, permanent: true}, {code: 72001, permanent: true},
		{code: 20006, permanent: true}, {code: 80001, permanent: true}, {code: 80002, permanent: true},
		{code: 93000, permanent: true}, {code: 90001, permanent: true}, {code: 71000, permanent: true},
		{code: 120001, permanent: true}, {code: 130000, permanent: true}, {code: 99999, permanent: true},
		{http: 500, retry: true}, {http: 503, retry: true}, {http: 408, retry: true}, {http: 429, retry: true, ratelimit: true},
		{http: 400, permanent: true}, {http: 404, permanent: true},
	}
	for _, tt := range tests {
		e := &APIError{Code: tt.code, HTTPStatus: tt.http, Command: CommandSendMsg}
		if tt.http == 0 {
			e.HTTPStatus = 200
		}
		wrapped := fmt.Errorf("activity: %w", e)
		got := [5]bool{e.Retryable(), e.Resign(), e.Permanent(), e.NotImported(), e.RateLimited()}
		want := [5]bool{tt.retry, tt.resign, tt.permanent, tt.notImp, tt.ratelimit}
		if got != want {
			t.Errorf("%s: [retry resign permanent notImported rateLimited] = %v, want %v", e, got, want)
		}
		gotIs := [4]bool{IsRetryable(wrapped), IsResign(wrapped), IsNotImported(wrapped), IsRateLimited(wrapped)}
		if gotIs != [4]bool{tt.retry, tt.resign, tt.notImp, tt.ratelimit} {
			t.Errorf("%s: Is* = %v", e, gotIs)
		}
		if IsPermanent(wrapped) != !tt.retry {
			t.Errorf("%s: IsPermanent = %v", e, IsPermanent(wrapped))
		}
	}
	if IsRetryable(nil) || IsRetryable(context.Canceled) || IsRetryable(errors.New("x")) || IsPermanent(nil) || IsResign(nil) || IsNotImported(nil) {
		t.Error("nil/canceled/plain errors misclassified")
	}
	if !IsRetryable(fmt.Errorf("x: %w", context.DeadlineExceeded)) || !IsRetryable(&net.OpError{Op: "dial", Err: errors.New("refused")}) {
		t.Error("timeouts and network errors must be retryable")
	}
	if IsRetryable(&url.Error{Op: "Post", URL: "ftp://x", Err: errors.New(`unsupported protocol scheme "ftp"`)}) {
		t.Error("a bad scheme is not retryable")
	}
	if !IsRetryable(&url.Error{Op: "Post", URL: "http://x", Err: &net.OpError{Op: "dial", Err: errors.New("refused")}}) {
		t.Error("a refused connection is retryable")
	}
}

func TestResignOnce(t *testing.T) {
	t.Run("succeeds after re-sign", func(t *testing.T) {
		f, c := newFakeIM(t, func(_ fakeReq, n int) (int, string) {
			if n == 0 {
				return 200, `{"ActionStatus":"FAIL","ErrorCode":70001,"ErrorInfo":"usersig expired"}`
			}
			return 200, ok(`"MsgTime":1,"MsgKey":"k"`)
		})
		r, err := c.SendMsg(context.Background(), SendMsgRequest{ToAccount: "u", MsgRandom: 5, MsgBody: MsgBody{TextElem("hi")}})
		if err != nil || r.MsgKey != "k" {
			t.Fatalf("got %+v %v", r, err)
		}
		reqs := f.requests()
		if len(reqs) != 2 || string(reqs[0].Body) != string(reqs[1].Body) {
			t.Fatalf("want the same request sent twice, got %d", len(reqs))
		}
	})
	t.Run("gives up after one re-sign", func(t *testing.T) {
		f, c := newFakeIM(t, func(fakeReq, int) (int, string) {
			return 200, `{"ActionStatus":"FAIL","ErrorCode":70009,"ErrorInfo":"wrong key"}`
		})
		err := c.ImportAccount(context.Background(), Account{UserID: "u"})
		if !IsResign(err) || !IsPermanent(err) || IsRetryable(err) {
			t.Fatalf("got %v", err)
		}
		if n := len(f.requests()); n != 2 {
			t.Errorf("%d requests, want 2", n)
		}
	})
	t.Run("no re-sign for other codes", func(t *testing.T) {
		f, c := newFakeIM(t, func(fakeReq, int) (int, string) {
			return 200, `{"ActionStatus":"FAIL","ErrorCode":60007,"ErrorInfo":"freq"}`
		})
		_ = c.ImportAccount(context.Background(), Account{UserID: "u"})
		if n := len(f.requests()); n != 1 {
			t.Errorf("%d requests, want 1", n)
		}
	})
}

func TestChunking(t *testing.T) {
	ids := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = "u" + strconv.Itoa(i)
		}
		return out
	}
	t.Run("multiaccount_import", func(t *testing.T) {
		f, c := newFakeIM(t, func(r fakeReq, n int) (int, string) {
			var in MultiAccountImportRequest
			_ = json.Unmarshal(r.Body, &in)
			return 200, ok(`"FailAccounts":["` + in.Accounts[0] + `"]`)
		})
		failed, err := c.ImportAccounts(context.Background(), ids(250))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(failed, []string{"u0", "u100", "u200"}) {
			t.Errorf("failed %v", failed)
		}
		var sizes []int
		for _, r := range f.requests() {
			var in MultiAccountImportRequest
			_ = json.Unmarshal(r.Body, &in)
			sizes = append(sizes, len(in.Accounts))
		}
		if !reflect.DeepEqual(sizes, []int{100, 100, 50}) {
			t.Errorf("chunk sizes %v", sizes)
		}
	})
	t.Run("account_check and delete", func(t *testing.T) {
		f, c := newFakeIM(t, func(r fakeReq, _ int) (int, string) {
			var in struct{ CheckItem, DeleteItem []AccountItem }
			_ = json.Unmarshal(r.Body, &in)
			items := append(in.CheckItem, in.DeleteItem...)
			out, _ := json.Marshal(items)
			return 200, ok(`"ResultItem":` + string(out))
		})
		got, err := c.CheckAccounts(context.Background(), ids(201))
		if err != nil || len(got) != 201 || got[200].UserID != "u200" {
			t.Fatalf("CheckAccounts: %d %v", len(got), err)
		}
		del, err := c.DeleteAccounts(context.Background(), ids(101))
		if err != nil || len(del) != 101 {
			t.Fatalf("DeleteAccounts: %d %v", len(del), err)
		}
		if n := len(f.requests()); n != 5 {
			t.Errorf("%d requests, want 3+2", n)
		}
	})
	t.Run("query_online_status and error mid-way", func(t *testing.T) {
		f, c := newFakeIM(t, func(r fakeReq, n int) (int, string) {
			if n == 2 {
				return 200, `{"ActionStatus":"FAIL","ErrorCode":91000,"ErrorInfo":"internal"}`
			}
			var in QueryOnlineStatusRequest
			_ = json.Unmarshal(r.Body, &in)
			if len(in.ToAccount) != 500 || in.IsNeedDetail != 1 {
				return 200, `{"ActionStatus":"FAIL","ErrorCode":90011,"ErrorInfo":"too many"}`
			}
			return 200, ok(`"QueryResult":[{"To_Account":"` + in.ToAccount[0] + `","Status":"Offline"}]`)
		})
		got, err := c.QueryOnlineStatus(context.Background(), ids(1001))
		if !IsRetryable(err) || len(got) != 2 {
			t.Fatalf("got %d results, %v", len(got), err)
		}
		if n := len(f.requests()); n != 3 {
			t.Errorf("%d requests, want 3", n)
		}
	})
}

func TestRoamPaging(t *testing.T) {
	pages := []string{
		ok(`"Complete":0,"MsgCnt":2,"LastMsgTime":1584669690,"LastMsgKey":"k2","MsgList":[{"MsgKey":"k1"},{"MsgKey":"k2"}]`),
		ok(`"Complete":0,"MsgCnt":1,"LastMsgTime":1584669680,"LastMsgKey":"k3","MsgList":[{"MsgKey":"k3"}]`),
		ok(`"Complete":1,"MsgCnt":1,"LastMsgTime":1584669670,"LastMsgKey":"k4","MsgList":[{"MsgKey":"k4"}]`),
	}
	f, c := newFakeIM(t, func(_ fakeReq, n int) (int, string) { return 200, pages[n] })
	msgs, err := c.AdminGetRoamMsgAll(context.Background(), AdminGetRoamMsgRequest{OperatorAccount: "a", PeerAccount: "b", MinTime: 1584669600, MaxTime: 1584673200})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, m := range msgs {
		keys = append(keys, m.MsgKey)
	}
	if !reflect.DeepEqual(keys, []string{"k1", "k2", "k3", "k4"}) {
		t.Errorf("keys %v", keys)
	}
	reqs := f.requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests", len(reqs))
	}
	jsonEqual(t, reqs[0].Body, `{"Operator_Account":"a","Peer_Account":"b","MaxCnt":100,"MinTime":1584669600,"MaxTime":1584673200}`)
	jsonEqual(t, reqs[1].Body, `{"Operator_Account":"a","Peer_Account":"b","MaxCnt":100,"MinTime":1584669600,"MaxTime":1584669690,"LastMsgKey":"k2"}`)
	jsonEqual(t, reqs[2].Body, `{"Operator_Account":"a","Peer_Account":"b","MaxCnt":100,"MinTime":1584669600,"MaxTime":1584669680,"LastMsgKey":"k3"}`)

	t.Run("no progress", func(t *testing.T) {
		stuck := ok(`"Complete":0,"LastMsgTime":5,"LastMsgKey":"k","MsgList":[]`)
		f, c := newFakeIM(t, func(fakeReq, int) (int, string) { return 200, stuck })
		_, err := c.AdminGetRoamMsgAll(context.Background(), AdminGetRoamMsgRequest{OperatorAccount: "a", PeerAccount: "b", MaxTime: 9})
		if !errors.Is(err, ErrPaging) || len(f.requests()) != 2 {
			t.Errorf("got %v after %d requests", err, len(f.requests()))
		}
	})
}

func TestSecretNeverLeaks(t *testing.T) {
	cfg := DefaultConfig(testAppID, testKey, "ops")
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		for _, v := range []any{cfg, &cfg, NewClient(cfg)} {
			if out := fmt.Sprintf(format, v); strings.Contains(out, testKey) {
				t.Errorf("%s of %T leaks the secret: %s", format, v, out)
			}
		}
	}
	if !strings.Contains(cfg.String(), "[redacted]") {
		t.Errorf("String: %s", cfg)
	}
	var logged strings.Builder
	fmt.Fprint(&logged, cfg.LogValue())
	if strings.Contains(logged.String(), testKey) {
		t.Error("LogValue leaks the secret")
	}

	// Transport error: the *url.Error must not carry the usersig query.
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	cfg.BaseURL = deadURL
	cfg.Now = func() time.Time { return testNow }
	c := NewClient(cfg)
	sig, _ := c.admin.Get()
	_, err := c.SendMsg(context.Background(), SendMsgRequest{ToAccount: "u", MsgBody: MsgBody{TextElem("x")}})
	if err == nil {
		t.Fatal("want a network error")
	}
	if msg := err.Error(); strings.Contains(msg, testKey) || strings.Contains(msg, sig) || strings.Contains(msg, "usersig") {
		t.Errorf("network error leaks credentials: %s", msg)
	}
	if !IsRetryable(err) {
		t.Errorf("connection refused should be retryable: %v", err)
	}

	// API errors.
	_, c2 := newFakeIM(t, func(fakeReq, int) (int, string) {
		return 200, `{"ActionStatus":"FAIL","ErrorCode":70003,"ErrorInfo":"bad sig"}`
	})
	err = c2.ImportAccount(context.Background(), Account{UserID: "u"})
	if strings.Contains(err.Error(), testKey) || strings.Contains(fmt.Sprintf("%+v", err), testKey) {
		t.Errorf("api error leaks: %v", err)
	}
}

func TestConfig(t *testing.T) {
	cfg := DefaultConfig(testAppID, testKey, "")
	if cfg.Admin != DefaultAdmin || cfg.BaseURL != "https://console.tim.qq.com" || !cfg.HasSecretKey() {
		t.Errorf("defaults: %v", cfg)
	}
	hc, ok := cfg.HTTPClient.(*http.Client)
	if !ok || hc.Timeout <= 3*time.Second {
		t.Errorf("client timeout must exceed Tencent's 3 s: %#v", cfg.HTTPClient)
	}
	if err := cfg.Validate(); err != nil {
		t.Error(err)
	}
	err := (Config{BaseURL: "::"}).Validate()
	if err == nil || !strings.Contains(err.Error(), "SDKAppID") || !strings.Contains(err.Error(), "secret key") || !strings.Contains(err.Error(), "BaseURL") {
		t.Errorf("Validate must list all problems: %v", err)
	}
	c := NewClient(Config{SDKAppID: 1})
	if c.Config().BaseURL != DefaultBaseURL || c.Config().Admin != DefaultAdmin || c.Config().HTTPClient == nil || c.Signer().SDKAppID() != 1 {
		t.Errorf("NewClient defaults: %v", c.Config())
	}
}

func TestNoSecretKey(t *testing.T) {
	f, c := newFakeIM(t, func(fakeReq, int) (int, string) { return 200, ok("") })
	cfg := c.Config()
	cfg.secretKey = ""
	c = NewClient(cfg)
	err := c.ImportAccount(context.Background(), Account{UserID: "u"})
	if !errors.Is(err, ErrNoSecretKey) || !IsPermanent(err) {
		t.Errorf("got %v", err)
	}
	if n := len(f.requests()); n != 0 {
		t.Errorf("%d requests sent without a key", n)
	}
}

func TestContextCanceled(t *testing.T) {
	_, c := newFakeIM(t, func(fakeReq, int) (int, string) { return 200, ok("") })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := c.ImportAccount(ctx, Account{UserID: "u"})
	if !errors.Is(err, context.Canceled) || IsRetryable(err) {
		t.Errorf("got %v", err)
	}
}

func TestDeriveMsgIDs(t *testing.T) {
	seq1, rnd1 := DeriveMsgIDs("consultation/u_1/7")
	seq2, rnd2 := DeriveMsgIDs("consultation/u_1/7")
	seq3, rnd3 := DeriveMsgIDs("consultation/u_1/8")
	if seq1 != seq2 || rnd1 != rnd2 {
		t.Error("not deterministic")
	}
	if seq1 == seq3 && rnd1 == rnd3 {
		t.Error("different keys gave the same ids")
	}
	seen := map[uint32]bool{}
	for i := range 10000 {
		seq, _ := DeriveMsgIDs(strconv.Itoa(i))
		if seq == 0 {
			t.Fatal("MsgSeq 0 would be omitted from the request")
		}
		seen[seq] = true
	}
	if len(seen) < 9990 {
		t.Errorf("only %d distinct MsgSeq over 10000 keys", len(seen))
	}
}
