package timsim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/timdesk/timdesk/tim"
)

// maxRESTBody is the largest request body read; larger ones are refused (messages are limited to
// 12 KB separately, as Tencent does).
const maxRESTBody = 1 << 20

// maxMsgSize is Tencent's single-message limit (MsgBody plus CloudCustomData), 12 KB.
const maxMsgSize = 12 * 1024

// apiError is an API-level failure answered with HTTP 200 and ActionStatus FAIL.
type apiError struct {
	Code  int
	Info  string
	Extra map[string]any // more fields of the answer, e.g. ErrorList
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s", e.Code, e.Info) }

func apiErr(code int, format string, args ...any) *apiError {
	return &apiError{Code: code, Info: fmt.Sprintf(format, args...)}
}

// service groups the per-service error codes Tencent uses for the same condition.
type service struct {
	name     string
	notAdmin int // identifier is not an App admin
	badJSON  int // body is not JSON of the right shape
}

var (
	svcOpenIM = service{name: "openim", notAdmin: 90009, badJSON: 90001}
	svcLogin  = service{name: "im_open_login_svc", notAdmin: 70403, badJSON: 70402}
	svcGroup  = service{name: "group_open_http_svc", notAdmin: 60010, badJSON: 10004}
)

// restCall is one REST request after the gateway checks.
type restCall struct {
	ctx      context.Context
	svc      service
	command  string
	body     []byte
	clientIP string
}

type restHandler func(*restCall) (any, *apiError)

// restCommand finds the handler for /v4/{service}/{command}.
func (s *Server) restCommand(svcName, command string) (service, restHandler, bool) {
	switch svcName + "/" + command {
	case "openim/sendmsg":
		return svcOpenIM, s.restSendMsg, true
	case "openim/batchsendmsg":
		return svcOpenIM, s.restBatchSendMsg, true
	case "openim/query_online_status", "openim/querystate":
		return svcOpenIM, s.restQueryOnlineStatus, true
	case "openim/admin_getroammsg":
		return svcOpenIM, s.restGetRoamMsg, true
	case "openim/admin_msgwithdraw":
		return svcOpenIM, s.restMsgWithdraw, true
	case "im_open_login_svc/account_import":
		return svcLogin, s.restAccountImport, true
	case "im_open_login_svc/multiaccount_import":
		return svcLogin, s.restMultiAccountImport, true
	case "im_open_login_svc/account_check":
		return svcLogin, s.restAccountCheck, true
	case "im_open_login_svc/account_delete":
		return svcLogin, s.restAccountDelete, true
	case "group_open_http_svc/create_group":
		return svcGroup, s.restCreateGroup, true
	case "group_open_http_svc/send_group_msg":
		return svcGroup, s.restSendGroupMsg, true
	}
	return service{}, nil, false
}

// handleREST is every /v4/{service}/{command} route: gateway checks (rate limit, faults, query
// parameters, admin UserSig), then the command. API-level errors are HTTP 200 with ActionStatus FAIL.
func (s *Server) handleREST(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/v4/"), "/")
	if len(parts) != 2 {
		s.writeREST(w, "", nil, apiErr(60009, "request resource error: unknown URL %s", r.URL.Path))
		return
	}
	svc, handler, ok := s.restCommand(parts[0], parts[1])
	command := parts[1]
	if !ok {
		s.writeREST(w, command, nil, apiErr(60009, "request resource error: unknown command %s/%s", parts[0], parts[1]))
		return
	}
	if r.Method != http.MethodPost {
		s.writeREST(w, command, nil, apiErr(60002, "HTTP parse error: only POST is supported"))
		return
	}
	if code := s.rateLimited(); code != 0 {
		s.note("fault", "rate limit hit: "+command, map[string]int{"ErrorCode": code})
		s.writeREST(w, command, nil, apiErr(code, "REST API call frequency exceeds the limit"))
		return
	}
	fault := s.takeFault(command)
	if fault != nil {
		if !sleepCtx(r.Context(), fault.Latency) {
			return
		}
		if !fault.AfterCommand && s.applyFault(w, command, fault) {
			return
		}
	}
	call, aerr := s.gateway(r, svc, command)
	var resp any
	if aerr == nil {
		resp, aerr = handler(call)
	} else {
		s.note("rest", fmt.Sprintf("%s refused: ErrorCode %d (%s)", command, aerr.Code, aerr.Info), nil)
	}
	if fault != nil && fault.AfterCommand && s.applyFault(w, command, fault) {
		return
	}
	s.writeREST(w, command, resp, aerr)
}

// applyFault answers according to f and reports whether it did.
func (s *Server) applyFault(w http.ResponseWriter, command string, f *Fault) bool {
	switch {
	case f.Drop:
		s.note("fault", "dropped the answer to "+command, nil)
		dropConnection(w)
		return true
	case f.HTTPStatus != 0:
		s.note("fault", fmt.Sprintf("HTTP %d for %s", f.HTTPStatus, command), nil)
		http.Error(w, http.StatusText(f.HTTPStatus), f.HTTPStatus)
		return true
	case f.ErrorCode != 0:
		info := f.ErrorInfo
		if info == "" {
			info = "injected fault"
		}
		s.note("fault", fmt.Sprintf("error %d for %s", f.ErrorCode, command), nil)
		s.writeREST(w, command, nil, &apiError{Code: f.ErrorCode, Info: info})
		return true
	}
	return false
}

// dropConnection closes the client connection without an answer.
func dropConnection(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	// net/http recognises this sentinel: it aborts the response and closes the connection quietly.
	panic(http.ErrAbortHandler)
}

// gateway checks the query parameters and the admin UserSig and reads the body.
func (s *Server) gateway(r *http.Request, svc service, command string) (*restCall, *apiError) {
	if aerr := s.checkQuery(r.URL.Query(), svc); aerr != nil {
		return nil, aerr
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRESTBody+1))
	if err != nil {
		return nil, apiErr(60008, "service timeout: reading the request body failed")
	}
	if len(body) > maxRESTBody {
		return nil, apiErr(93000, "request body too large")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, apiErr(svc.badJSON, "Fail to Parse json data of body, Please check it: empty body")
	}
	return &restCall{ctx: r.Context(), svc: svc, command: command, body: body, clientIP: clientIP(r)}, nil
}

// checkQuery validates sdkappid, identifier, usersig, random and contenttype.
func (s *Server) checkQuery(q url.Values, svc service) *apiError {
	appID := q.Get("sdkappid")
	if appID == "" {
		return apiErr(60012, "sdkappid is missing from the URL")
	}
	if id, err := strconv.ParseUint(appID, 10, 64); err != nil || id != s.opts.SDKAppID {
		return apiErr(70020, "SDKAppID not found: %s", appID)
	}
	identifier := q.Get("identifier")
	if identifier == "" {
		return apiErr(60004, "identifier is missing from the URL")
	}
	sig := q.Get("usersig")
	if sig == "" {
		return apiErr(70002, "usersig is empty")
	}
	if _, err := strconv.ParseUint(q.Get("random"), 10, 32); err != nil {
		return apiErr(60002, "HTTP parse error: random must be an unsigned 32-bit integer")
	}
	if q.Get("contenttype") != "json" {
		return apiErr(60002, "HTTP parse error: contenttype must be json")
	}
	if err := s.signer.Verify(identifier, sig, s.now()); err != nil {
		return sigError(err)
	}
	if identifier != s.opts.Admin {
		return apiErr(svc.notAdmin, "%s is not an App admin: this API requires the App admin account", identifier)
	}
	return nil
}

// sigError maps a tim.Signer.Verify error to Tencent's 700xx codes.
func sigError(err error) *apiError {
	switch {
	case errors.Is(err, tim.ErrExpired):
		return apiErr(70001, "UserSig expired, please regenerate it")
	case errors.Is(err, tim.ErrWrongApp):
		return apiErr(70014, "the SDKAppID in the request does not match the one in the UserSig")
	case errors.Is(err, tim.ErrWrongIdentifier):
		return apiErr(70013, "the identifier in the request does not match the one in the UserSig")
	case errors.Is(err, tim.ErrBadSignature):
		return apiErr(70009, "UserSig verification failed: generated with a different key")
	default:
		return apiErr(70003, "UserSig is invalid (malformed)")
	}
}

// writeREST writes the Tencent envelope: ActionStatus, ErrorCode, ErrorInfo merged with resp's fields.
func (s *Server) writeREST(w http.ResponseWriter, command string, resp any, aerr *apiError) {
	fields := map[string]any{}
	if resp != nil {
		b, err := json.Marshal(resp)
		if err == nil {
			var m map[string]json.RawMessage
			if json.Unmarshal(b, &m) == nil {
				for k, v := range m {
					fields[k] = v
				}
			}
		}
	}
	if aerr != nil {
		for k, v := range aerr.Extra {
			fields[k] = v
		}
		fields["ActionStatus"] = "FAIL"
		fields["ErrorCode"] = aerr.Code
		fields["ErrorInfo"] = aerr.Info
		s.log.Info("rest call failed", "command", command, "code", aerr.Code, "info", aerr.Info)
	} else {
		fields["ActionStatus"] = "OK"
		fields["ErrorCode"] = 0
		fields["ErrorInfo"] = ""
		s.log.Debug("rest call", "command", command)
	}
	writeJSON(w, http.StatusOK, fields)
}

// jsonObject decodes body into its top-level fields.
func (c *restCall) jsonObject() (map[string]json.RawMessage, *apiError) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(c.body, &m); err != nil || m == nil {
		return nil, apiErr(c.svc.badJSON, "Fail to Parse json data of body, Please check it")
	}
	return m, nil
}

// decode decodes body into v.
func (c *restCall) decode(v any) *apiError {
	if err := json.Unmarshal(c.body, v); err != nil {
		return apiErr(c.svc.badJSON, "Fail to Parse json data of body, Please check it: %s", jsonErrorField(err))
	}
	return nil
}

// jsonErrorField names the offending field of a type error without echoing input.
func jsonErrorField(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("field %s must be %s", te.Field, te.Type)
	}
	return "invalid JSON"
}

// fieldString reads m[key] as a JSON string; present reports whether the key exists.
func fieldString(m map[string]json.RawMessage, key string) (v string, present, ok bool) {
	raw, present := m[key]
	if !present {
		return "", false, false
	}
	err := json.Unmarshal(raw, &v)
	return v, true, err == nil && !bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
}

// fieldInt reads m[key] as a JSON integer within [lo, hi].
func fieldInt(m map[string]json.RawMessage, key string, lo, hi int64) (v int64, present, ok bool) {
	raw, present := m[key]
	if !present {
		return 0, false, false
	}
	if t := bytes.TrimSpace(raw); len(t) == 0 || (t[0] != '-' && (t[0] < '0' || t[0] > '9')) {
		return 0, true, false
	}
	var f json.Number
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&f); err != nil {
		return 0, true, false
	}
	n, err := f.Int64()
	if err != nil {
		fl, ferr := f.Float64()
		if ferr != nil || fl != math.Trunc(fl) || fl < float64(lo) || fl > float64(hi) {
			return 0, true, false
		}
		n = int64(fl)
	}
	return n, true, n >= lo && n <= hi
}
