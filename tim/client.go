package tim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Regional REST endpoints (TENCENT_IM.md 2.2). The domain must match the region the SDKAppID
// was created in.
const (
	BaseURLChina         = "https://console.tim.qq.com"
	BaseURLSingapore     = "https://adminapisgp.im.qcloud.com"
	BaseURLSeoul         = "https://adminapikr.im.qcloud.com"
	BaseURLFrankfurt     = "https://adminapiger.im.qcloud.com"
	BaseURLMumbai        = "https://adminapiind.im.qcloud.com"
	BaseURLSiliconValley = "https://adminapiusa.im.qcloud.com"
	BaseURLJakarta       = "https://adminapiidn.im.qcloud.com"
	BaseURLTokyo         = "https://adminapijpn.im.qcloud.com"

	// DefaultBaseURL is the mainland-China endpoint.
	DefaultBaseURL = BaseURLChina
	// DefaultAdmin is the administrator account Tencent creates with every app.
	DefaultAdmin = "administrator"
	// DefaultTimeout is the HTTP timeout of DefaultConfig's client: above Tencent's 3 s
	// server-side processing timeout.
	DefaultTimeout = 5 * time.Second
)

// REST commands, relative to BaseURL. APIError.Command carries one of these.
const (
	CommandSendMsg            = "v4/openim/sendmsg"
	CommandBatchSendMsg       = "v4/openim/batchsendmsg"
	CommandAdminGetRoamMsg    = "v4/openim/admin_getroammsg"
	CommandAdminMsgWithdraw   = "v4/openim/admin_msgwithdraw"
	CommandQueryOnlineStatus  = "v4/openim/query_online_status"
	CommandAccountImport      = "v4/im_open_login_svc/account_import"
	CommandMultiAccountImport = "v4/im_open_login_svc/multiaccount_import"
	CommandAccountCheck       = "v4/im_open_login_svc/account_check"
	CommandAccountDelete      = "v4/im_open_login_svc/account_delete"
	CommandSendGroupMsg       = "v4/group_open_http_svc/send_group_msg"
)

// maxResponseBytes bounds how much of a response body the client reads.
const maxResponseBytes = 8 << 20

// HTTPDoer sends HTTP requests; *http.Client implements it.
type HTTPDoer interface {
	Do(*http.Request) (*http.Response, error)
}

// Config configures a Client. Build it with DefaultConfig (the only way to set the secret key)
// and override fields as needed. String, GoString and LogValue redact the secret.
type Config struct {
	// BaseURL is the REST endpoint, e.g. DefaultBaseURL or an emulator's http://127.0.0.1:9800.
	BaseURL string
	// SDKAppID is the app id.
	SDKAppID uint64
	// Admin is the administrator account the client signs as (default "administrator").
	Admin string
	// HTTPClient sends the requests; nil means an *http.Client with DefaultTimeout.
	HTTPClient HTTPDoer
	// Now is the clock for UserSig issue times; nil means time.Now.
	Now func() time.Time

	secretKey string
}

// DefaultConfig returns a Config for BaseURL https://console.tim.qq.com with an HTTP client
// timing out after 5 s (keep-alive connection pooling from http.DefaultTransport's settings).
// An empty admin means "administrator".
func DefaultConfig(sdkAppID uint64, secretKey, admin string) Config {
	if admin == "" {
		admin = DefaultAdmin
	}
	return Config{
		BaseURL:    DefaultBaseURL,
		SDKAppID:   sdkAppID,
		Admin:      admin,
		HTTPClient: &http.Client{Timeout: DefaultTimeout},
		secretKey:  secretKey,
	}
}

// HasSecretKey reports whether a secret key is configured.
func (c Config) HasSecretKey() bool { return c.secretKey != "" }

// Validate reports every missing setting in one error.
func (c Config) Validate() error {
	var missing []string
	if c.SDKAppID == 0 {
		missing = append(missing, "SDKAppID")
	}
	if c.secretKey == "" {
		missing = append(missing, "secret key")
	}
	if c.BaseURL != "" {
		if u, err := url.Parse(c.BaseURL); err != nil || u.Scheme == "" || u.Host == "" {
			missing = append(missing, "valid BaseURL")
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("tim config: missing %s", strings.Join(missing, ", "))
	}
	return nil
}

// String describes the config with the secret key redacted.
func (c Config) String() string {
	secret := "unset"
	if c.secretKey != "" {
		secret = "[redacted]"
	}
	return fmt.Sprintf("tim.Config{BaseURL:%q SDKAppID:%d Admin:%q SecretKey:%s}", c.BaseURL, c.SDKAppID, c.Admin, secret)
}

// GoString is String, so %#v redacts too.
func (c Config) GoString() string { return c.String() }

// LogValue renders the config for slog without the secret.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("base_url", c.BaseURL),
		slog.Uint64("sdkappid", c.SDKAppID),
		slog.String("admin", c.Admin),
		slog.Bool("secret_key_set", c.secretKey != ""),
	)
}

// Client calls the Tencent IM REST API as the administrator. It is safe for concurrent use.
// It never retries (callers do, see IsRetryable); the only resend is the documented re-sign on
// a rejected admin UserSig (see package doc).
type Client struct {
	baseURL string
	cfg     Config
	http    HTTPDoer
	signer  *Signer
	admin   *AdminSig
}

// NewClient returns a Client for cfg, filling defaults for empty fields.
func NewClient(cfg Config) *Client {
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	if cfg.Admin == "" {
		cfg.Admin = DefaultAdmin
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: DefaultTimeout}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	signer := NewSigner(cfg.SDKAppID, cfg.secretKey)
	signer.Now = cfg.Now
	return &Client{
		baseURL: strings.TrimRight(cfg.BaseURL, "/"),
		cfg:     cfg,
		http:    cfg.HTTPClient,
		signer:  signer,
		admin:   signer.AdminSig(cfg.Admin),
	}
}

// Signer returns the client's UserSig signer (same app and secret), e.g. to mint user tokens.
func (c *Client) Signer() *Signer { return c.signer }

// Config returns the client's effective configuration (secret still unexported).
func (c *Client) Config() Config { return c.cfg }

// String describes the client without secrets.
func (c *Client) String() string { return "tim.Client{" + c.cfg.String() + "}" }

// GoString is String.
func (c *Client) GoString() string { return c.String() }

// Envelope is the status part of every REST response. ErrorCode 0 means success (for batch
// commands: at least one item succeeded; per-item failures are in the command's lists).
// ActionStatus is not authoritative ("OK", "FAIL", even "SomeError" with ErrorCode 0).
type Envelope struct {
	ActionStatus string `json:"ActionStatus"`
	ErrorCode    int    `json:"ErrorCode"`
	ErrorInfo    string `json:"ErrorInfo"`
}

// OKEnvelope returns the success envelope ({"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":""}).
func OKEnvelope() Envelope { return Envelope{ActionStatus: "OK"} }

// ErrorEnvelope returns a failure envelope with code and info.
func ErrorEnvelope(code int, info string) Envelope {
	return Envelope{ActionStatus: "FAIL", ErrorCode: code, ErrorInfo: info}
}

// call is the one request path: it signs, sends, decodes, and re-signs once on auth codes.
func (c *Client) call(ctx context.Context, command string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("tim %s: encode request: %w", command, err)
	}
	if len(body) == 0 || string(body) == "null" {
		body = []byte("{}")
	}
	err = c.send(ctx, command, body, out)
	var apiErr *APIError
	if errors.As(err, &apiErr) && apiErr.Resign() {
		// Re-sign, not retry: drop the cached admin UserSig and send the same request once more
		// with a freshly minted one. Whatever happens then is returned as is.
		c.admin.Invalidate()
		err = c.send(ctx, command, body, out)
	}
	return err
}

// send performs one HTTP exchange.
func (c *Client) send(ctx context.Context, command string, body []byte, out any) error {
	sig, err := c.admin.Get()
	if err != nil {
		return fmt.Errorf("tim %s: admin usersig: %w", command, err)
	}
	endpoint := c.baseURL + "/" + command
	rawURL := endpoint + "?" + requestQuery(c.cfg.SDKAppID, c.cfg.Admin, sig, rand.Uint32())
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rawURL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("tim %s: build request: %w", command, redactURLError(err, endpoint))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("tim %s: %w", command, redactURLError(err, endpoint))
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return fmt.Errorf("tim %s: read response: %w", command, redactURLError(err, endpoint))
	}
	if resp.StatusCode != http.StatusOK {
		return &APIError{HTTPStatus: resp.StatusCode, Info: http.StatusText(resp.StatusCode), Command: command}
	}
	var env struct {
		ActionStatus *string `json:"ActionStatus"`
		ErrorCode    *int    `json:"ErrorCode"`
		ErrorInfo    string  `json:"ErrorInfo"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		return fmt.Errorf("tim %s: %w: %w", command, ErrBadResponse, err)
	}
	if env.ErrorCode == nil && env.ActionStatus == nil {
		return fmt.Errorf("tim %s: %w: no ActionStatus/ErrorCode", command, ErrBadResponse)
	}
	if env.ErrorCode != nil && *env.ErrorCode != 0 {
		return &APIError{HTTPStatus: resp.StatusCode, Code: *env.ErrorCode, Info: truncate(env.ErrorInfo, 300), Command: command}
	}
	if env.ErrorCode == nil && !strings.EqualFold(*env.ActionStatus, "OK") {
		return &APIError{HTTPStatus: resp.StatusCode, Info: truncate(env.ErrorInfo, 300), Command: command}
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("tim %s: %w: %w", command, ErrBadResponse, err)
		}
	}
	return nil
}

// requestQuery builds the REST query string. The UserSig alphabet [A-Za-z0-9*_-] is sent
// verbatim ("*" is a legal query character; some servers may not decode "%2A").
func requestQuery(sdkAppID uint64, admin, userSig string, random uint32) string {
	var b strings.Builder
	b.Grow(96 + len(userSig))
	b.WriteString("sdkappid=")
	b.WriteString(strconv.FormatUint(sdkAppID, 10))
	b.WriteString("&identifier=")
	b.WriteString(url.QueryEscape(admin))
	b.WriteString("&usersig=")
	b.WriteString(strings.ReplaceAll(url.QueryEscape(userSig), "%2A", "*"))
	b.WriteString("&random=")
	b.WriteString(strconv.FormatUint(uint64(random), 10))
	b.WriteString("&contenttype=json")
	return b.String()
}

// redactURLError replaces the URL in a *url.Error (it would carry the admin UserSig) by the
// endpoint without its query.
func redactURLError(err error, endpoint string) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		cp := *ue
		cp.URL = endpoint
		return &cp
	}
	return err
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
