package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/timdesk/timdesk/desk"
	"github.com/timdesk/timdesk/internal/temporalenv"
	"github.com/timdesk/timdesk/tim"
	"github.com/timdesk/timdesk/workflows"
)

// Config is the API program's whole configuration, read once from the environment by loadConfig.
// Secret fields are redacted by String.
type Config struct {
	SDKAppID      uint64 // TIMDESK_SDKAPPID (required)
	SecretKey     string // TIMDESK_SECRET_KEY (required, secret)
	Admin         string // TIMDESK_ADMIN, default "administrator"
	TIMBaseURL    string // TIMDESK_TIM_BASE_URL, default https://console.tim.qq.com
	CallbackToken string // TIMDESK_CALLBACK_TOKEN (secret, required unless TIMDESK_INSECURE_NO_CALLBACK_TOKEN=1)
	// InsecureNoCallbackToken (TIMDESK_INSECURE_NO_CALLBACK_TOKEN=1) lets the API start without a
	// callback token: unsigned callbacks are then accepted, so anyone who knows the SDKAppID can
	// forge a customer's or an agent's message. Only for a closed test network.
	InsecureNoCallbackToken bool
	ServiceAccount          string // TIMDESK_SERVICE_ACCOUNT, default "support"

	JWTSecret   string // TIMDESK_AUTH_JWT_SECRET (required, secret): HS256 key for end-user tokens
	JWTIssuer   string // TIMDESK_AUTH_JWT_ISSUER: when set, the token's iss must equal it
	JWTAudience string // TIMDESK_AUTH_JWT_AUDIENCE: when set, the token's aud must contain it
	// JWTAgentClaim and JWTAgentValue (TIMDESK_AUTH_JWT_AGENT_CLAIM="claim=value", e.g.
	// "role=agent"): a token whose sub is a roster agent or supervisor gets that ID's UserSig only
	// when its claim is value (a string) or contains it (an array of strings). Unset: staff
	// UserSigs are issued only with the admin key.
	JWTAgentClaim string
	JWTAgentValue string
	AdminAPIKey   string // TIMDESK_ADMIN_API_KEY (required, secret): bearer key for the admin API

	Listen string // TIMDESK_LISTEN, default ":8080"

	ChatTransport string // TIMDESK_CHAT_TRANSPORT: how the /chat/ page reaches Tencent IM, sdk (default) or sim (the emulator)
	ChatSimURL    string // TIMDESK_CHAT_SIM_URL: the emulator's URL as the browser sees it (sim only), default TIMDESK_TIM_BASE_URL
	// ChatHostOrigins (TIMDESK_CHAT_HOST_ORIGINS, comma-separated) are the origins besides the
	// API's own that may embed the /chat/ page in a frame and post it the customer's JWT; empty:
	// only pages of the API's own origin (and native WebViews, which inject the JWT into the page).
	ChatHostOrigins []string

	// The Temporal connection is loaded by go.temporal.io/sdk/contrib/envconfig (see
	// temporalenv.Load): the optional TOML profile (TEMPORAL_CONFIG_FILE, TEMPORAL_PROFILE), then
	// TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY (secret; turns TLS on unless
	// TEMPORAL_TLS=false), TEMPORAL_CLIENT_AUTHORITY, TEMPORAL_TLS, TEMPORAL_TLS_CLIENT_CERT_PATH|DATA,
	// TEMPORAL_TLS_CLIENT_KEY_PATH|DATA (secret), TEMPORAL_TLS_SERVER_CA_CERT_PATH|DATA,
	// TEMPORAL_TLS_SERVER_NAME, TEMPORAL_TLS_DISABLE_HOST_VERIFICATION.
	TemporalAddress   string // TEMPORAL_ADDRESS, default "localhost:7233"
	TemporalNamespace string // TEMPORAL_NAMESPACE, default "default"
	TemporalTLS       bool   // TLS on the Temporal connection (TEMPORAL_TLS*, or implied by TEMPORAL_API_KEY)
	TemporalAPIKey    bool   // TEMPORAL_API_KEY is set; the key itself is only in the client credentials
	TaskQueue         string // TIMDESK_TASK_QUEUE, default "timdesk"
	temporal          client.Options

	OpenAIBaseURL string // OPENAI_BASE_URL
	OpenAIAPIKey  string // OPENAI_API_KEY (secret)
	LLMModel      string // TIMDESK_LLM_MODEL
	RosterFile    string // TIMDESK_ROSTER_FILE: fallback roster when the desk workflow has none
	LogFormat     string // TIMDESK_LOG_FORMAT: json (default) or text

	UserSigTTL      time.Duration // TIMDESK_USERSIG_TTL, default 24h: lifetime of issued UserSigs
	CallbackBudget  time.Duration // TIMDESK_CALLBACK_BUDGET, default 1.2s: Temporal call budget in callbacks
	TranslateBudget time.Duration // TIMDESK_TRANSLATE_BUDGET, default 1.2s: customer↔customer translation budget
	RequestTimeout  time.Duration // TIMDESK_REQUEST_TIMEOUT, default 30s: deadline of every non-callback request
	// MaxInflight (TIMDESK_TEMPORAL_MAX_INFLIGHT, default 32) bounds the Temporal calls callbacks
	// have in flight in this replica; beyond it, work is shed in business order (admission.go).
	MaxInflight int

	UserSigRate    float64        // TIMDESK_USERSIG_RATE ("N/s", "N/m" or "N/h", default "60/m"): per-IP tokens per second; 0 = off
	UserSigBurst   int            // burst of the UserSig limiter: N of TIMDESK_USERSIG_RATE
	TrustedProxies []netip.Prefix // TIMDESK_TRUSTED_PROXIES: comma-separated proxy IPs/CIDRs whose X-Forwarded-For is read (clientAddr)
	LLMConfigured  bool           // OPENAI_BASE_URL or OPENAI_API_KEY set
	rawUserSigRate string
	configWarnings []string
}

// Defaults of the optional settings.
const (
	defaultAdmin           = tim.DefaultAdmin
	defaultTIMBaseURL      = tim.DefaultBaseURL
	defaultServiceAccount  = desk.DefaultServiceAccount
	defaultListen          = ":8080"
	defaultTemporalAddress = temporalenv.DefaultAddress
	defaultNamespace       = temporalenv.DefaultNamespace
	defaultTaskQueue       = workflows.TaskQueueDefault
	defaultUserSigTTL      = 24 * time.Hour
	defaultCallbackBudget  = 1200 * time.Millisecond
	defaultTranslateBudget = 1200 * time.Millisecond
	defaultRequestTimeout  = 30 * time.Second
	defaultUserSigRate     = "60/m"
	defaultMaxInflight     = 32

	// maxCallbackBudget keeps every callback answer inside Tencent's 2 s wait.
	maxCallbackBudget = 1700 * time.Millisecond
	// maxUserSigTTL is the longest UserSig lifetime we issue (180 days).
	maxUserSigTTL = 180 * 24 * time.Hour
)

// loadConfig reads the configuration through getenv and reports every missing or invalid variable
// in one error.
func loadConfig(getenv func(string) string) (Config, error) {
	var problems []string
	var missing []string
	str := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	required := func(name string) string {
		v := strings.TrimSpace(getenv(name))
		if v == "" {
			missing = append(missing, name)
		}
		return v
	}
	duration := func(name string, def, lo, hi time.Duration) time.Duration {
		raw := strings.TrimSpace(getenv(name))
		if raw == "" {
			return def
		}
		d, err := time.ParseDuration(raw)
		if err != nil || d < lo || d > hi {
			problems = append(problems, fmt.Sprintf("%s must be a duration between %s and %s", name, lo, hi))
			return def
		}
		return d
	}

	cfg := Config{
		Admin:          str("TIMDESK_ADMIN", defaultAdmin),
		TIMBaseURL:     str("TIMDESK_TIM_BASE_URL", defaultTIMBaseURL),
		CallbackToken:  strings.TrimSpace(getenv("TIMDESK_CALLBACK_TOKEN")),
		ServiceAccount: str("TIMDESK_SERVICE_ACCOUNT", defaultServiceAccount),
		JWTIssuer:      str("TIMDESK_AUTH_JWT_ISSUER", ""),
		JWTAudience:    str("TIMDESK_AUTH_JWT_AUDIENCE", ""),

		Listen:    str("TIMDESK_LISTEN", defaultListen),
		TaskQueue: str("TIMDESK_TASK_QUEUE", defaultTaskQueue),

		OpenAIBaseURL: str("OPENAI_BASE_URL", ""),
		OpenAIAPIKey:  str("OPENAI_API_KEY", ""),
		LLMModel:      str("TIMDESK_LLM_MODEL", ""),
		RosterFile:    str("TIMDESK_ROSTER_FILE", ""),
		LogFormat:     strings.ToLower(str("TIMDESK_LOG_FORMAT", "json")),
	}

	temporalOpts, err := temporalenv.Load(getenv)
	if err != nil {
		problems = append(problems, err.Error())
	}
	cfg.temporal = temporalOpts
	cfg.TemporalAddress, cfg.TemporalNamespace = temporalOpts.HostPort, temporalOpts.Namespace
	cfg.TemporalTLS = temporalOpts.ConnectionOptions.TLS != nil && !temporalOpts.ConnectionOptions.TLSDisabled
	cfg.TemporalAPIKey = temporalOpts.Credentials != nil

	if raw := str("TIMDESK_AUTH_JWT_AGENT_CLAIM", ""); raw != "" {
		name, value, err := parseAgentClaim(raw)
		if err != nil {
			problems = append(problems, "TIMDESK_AUTH_JWT_AGENT_CLAIM "+err.Error())
		}
		cfg.JWTAgentClaim, cfg.JWTAgentValue = name, value
	}

	rawID := required("TIMDESK_SDKAPPID")
	cfg.SecretKey = required("TIMDESK_SECRET_KEY")
	cfg.AdminAPIKey = required("TIMDESK_ADMIN_API_KEY")
	cfg.JWTSecret = required("TIMDESK_AUTH_JWT_SECRET")
	if rawID != "" {
		id, err := strconv.ParseUint(rawID, 10, 64)
		if err != nil || id == 0 {
			problems = append(problems, "TIMDESK_SDKAPPID must be a positive integer")
		}
		cfg.SDKAppID = id
	}

	cfg.UserSigTTL = duration("TIMDESK_USERSIG_TTL", defaultUserSigTTL, time.Minute, maxUserSigTTL)
	cfg.CallbackBudget = duration("TIMDESK_CALLBACK_BUDGET", defaultCallbackBudget, 50*time.Millisecond, maxCallbackBudget)
	cfg.TranslateBudget = duration("TIMDESK_TRANSLATE_BUDGET", defaultTranslateBudget, 50*time.Millisecond, maxCallbackBudget)
	cfg.RequestTimeout = duration("TIMDESK_REQUEST_TIMEOUT", defaultRequestTimeout, time.Second, 10*time.Minute)

	cfg.MaxInflight = defaultMaxInflight
	if raw := str("TIMDESK_TEMPORAL_MAX_INFLIGHT", ""); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > 10000 {
			problems = append(problems, "TIMDESK_TEMPORAL_MAX_INFLIGHT must be an integer between 1 and 10000")
		}
		cfg.MaxInflight = max(n, 1)
	}

	cfg.rawUserSigRate = str("TIMDESK_USERSIG_RATE", defaultUserSigRate)
	perSecond, burst, err := parseRate(cfg.rawUserSigRate)
	if err != nil {
		problems = append(problems, "TIMDESK_USERSIG_RATE must look like 60/m, 5/s or 1000/h (0 disables)")
	}
	cfg.UserSigRate, cfg.UserSigBurst = perSecond, burst

	if entries := commaList(str("TIMDESK_TRUSTED_PROXIES", "")); len(entries) > 0 {
		proxies, err := parseTrustedProxies(entries)
		if err != nil {
			problems = append(problems, "TIMDESK_TRUSTED_PROXIES must be comma-separated IP addresses or CIDR prefixes: "+err.Error())
		}
		cfg.TrustedProxies = proxies
	}

	if u, err := url.Parse(cfg.TIMBaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		problems = append(problems, "TIMDESK_TIM_BASE_URL must be an http(s) URL")
	}
	if cfg.OpenAIBaseURL != "" {
		if u, err := url.Parse(cfg.OpenAIBaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			problems = append(problems, "OPENAI_BASE_URL must be an http(s) URL")
		}
	}
	cfg.ChatTransport = strings.ToLower(str("TIMDESK_CHAT_TRANSPORT", chatTransportSDK))
	cfg.ChatSimURL = str("TIMDESK_CHAT_SIM_URL", cfg.TIMBaseURL)
	switch cfg.ChatTransport {
	case chatTransportSDK:
	case chatTransportSim:
		if u, err := url.Parse(cfg.ChatSimURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			problems = append(problems, "TIMDESK_CHAT_SIM_URL must be an http(s) URL")
		}
	default:
		problems = append(problems, "TIMDESK_CHAT_TRANSPORT must be sdk or sim")
	}
	origins, err := parseOrigins(getenv("TIMDESK_CHAT_HOST_ORIGINS"))
	if err != nil {
		problems = append(problems, "TIMDESK_CHAT_HOST_ORIGINS: "+err.Error())
	}
	cfg.ChatHostOrigins = origins
	if cfg.LogFormat != "json" && cfg.LogFormat != "text" {
		problems = append(problems, "TIMDESK_LOG_FORMAT must be json or text")
	}
	for _, v := range []struct{ name, value string }{
		{"TIMDESK_ADMIN", cfg.Admin}, {"TIMDESK_SERVICE_ACCOUNT", cfg.ServiceAccount},
	} {
		if tim.ValidateUserID(v.value) != nil {
			problems = append(problems, v.name+" must be a valid Tencent IM UserID (1-32 bytes, no control characters)")
		}
	}
	cfg.LLMConfigured = cfg.OpenAIBaseURL != "" || cfg.OpenAIAPIKey != ""

	if raw := str("TIMDESK_INSECURE_NO_CALLBACK_TOKEN", ""); raw != "" {
		b, err := strconv.ParseBool(raw)
		if err != nil {
			problems = append(problems, "TIMDESK_INSECURE_NO_CALLBACK_TOKEN must be 1 or 0")
		}
		cfg.InsecureNoCallbackToken = b
	}
	switch {
	case cfg.CallbackToken == "" && !cfg.InsecureNoCallbackToken:
		problems = append(problems, errMissingCallbackToken)
	case cfg.CallbackToken == "":
		cfg.configWarnings = append(cfg.configWarnings,
			"TIMDESK_INSECURE_NO_CALLBACK_TOKEN=1 and no TIMDESK_CALLBACK_TOKEN: unsigned callbacks are accepted; anyone who knows the SDKAppID can forge messages")
	case cfg.InsecureNoCallbackToken:
		cfg.configWarnings = append(cfg.configWarnings,
			"TIMDESK_INSECURE_NO_CALLBACK_TOKEN is ignored: TIMDESK_CALLBACK_TOKEN is set and every callback's Sign is checked")
	}
	problems = append(problems, weakSecrets(cfg)...)
	if cfg.AdminAPIKey != "" && cfg.AdminAPIKey == cfg.JWTSecret {
		problems = append(problems, "TIMDESK_ADMIN_API_KEY and TIMDESK_AUTH_JWT_SECRET must differ")
	}

	if len(missing) > 0 {
		problems = append([]string{"missing " + strings.Join(missing, ", ")}, problems...)
	}
	if len(problems) > 0 {
		return cfg, fmt.Errorf("config: %w: %s", errInvalidConfig, strings.Join(problems, "; "))
	}
	return cfg, nil
}

// temporalClientOptions returns the loaded Temporal connection options (address, namespace, API
// key credentials, TLS).
func (c Config) temporalClientOptions() client.Options { return c.temporal }

// placeholderPrefix starts every secret's placeholder in deploy/timdesk.env.example.
const placeholderPrefix = "replace-with-"

// weakSecrets names the secrets that still hold the example file's placeholder (public, so anyone
// could mint JWTs, call the admin API or forge callbacks) or are shorter than their minimum: an
// HS256 key needs 256 bits (RFC 7518 §3.2); the admin key is a bearer credential guessed online;
// the callback token is brute-forced offline from one observed Sign (SHA-256 of token and time).
// It names variables only, never values.
func weakSecrets(cfg Config) []string {
	var problems []string
	for _, s := range []struct {
		name, value string
		min         int
	}{
		{"TIMDESK_SECRET_KEY", cfg.SecretKey, 0},
		{"TIMDESK_CALLBACK_TOKEN", cfg.CallbackToken, minCallbackToken},
		{"TIMDESK_AUTH_JWT_SECRET", cfg.JWTSecret, minJWTSecret},
		{"TIMDESK_ADMIN_API_KEY", cfg.AdminAPIKey, minAdminAPIKey},
	} {
		switch {
		case s.value == "":
		case strings.HasPrefix(s.value, placeholderPrefix):
			problems = append(problems, s.name+" still holds the placeholder from timdesk.env.example: set a real secret")
		case len(s.value) < s.min:
			problems = append(problems, fmt.Sprintf("%s must be at least %d bytes (a random string, e.g. openssl rand -hex 32)", s.name, s.min))
		}
	}
	return problems
}

// Minimum secret lengths in bytes.
const (
	minJWTSecret     = 32
	minAdminAPIKey   = 32
	minCallbackToken = 16
)

// errMissingCallbackToken is the refusal to start without a callback token: it says where Tencent's
// console sets it.
const errMissingCallbackToken = "TIMDESK_CALLBACK_TOKEN is required: without it anyone who knows the SDKAppID can post " +
	"forged callbacks (a fake agent reply sent to any customer). Set it in the Tencent Cloud Chat console " +
	"(your app → Callback configuration → Callback authentication → enable and enter a token) and give " +
	"the same value to TIMDESK_CALLBACK_TOKEN; only on a closed test network set TIMDESK_INSECURE_NO_CALLBACK_TOKEN=1 instead"

// errInvalidConfig marks configuration errors returned by loadConfig.
var errInvalidConfig = errors.New("invalid configuration")

// parseRate reads "N/s", "N/m" or "N/h" (a bare N means per minute) into tokens per second and a
// burst of N. "0" disables the limiter.
func parseRate(raw string) (perSecond float64, burst int, err error) {
	num, unit, found := strings.Cut(strings.TrimSpace(raw), "/")
	n, err := strconv.Atoi(strings.TrimSpace(num))
	if err != nil || n < 0 || n > 1_000_000 {
		return 0, 0, fmt.Errorf("parse rate %q: bad count", raw)
	}
	per := time.Minute
	if found {
		switch strings.TrimSpace(unit) {
		case "s":
			per = time.Second
		case "m":
			per = time.Minute
		case "h":
			per = time.Hour
		default:
			return 0, 0, fmt.Errorf("parse rate %q: unit must be s, m or h", raw)
		}
	}
	if n == 0 {
		return 0, 0, nil
	}
	return float64(n) / per.Seconds(), n, nil
}

// commaList is raw's comma-separated items, trimmed, without empty ones.
func commaList(raw string) []string {
	var out []string
	for _, item := range strings.Split(raw, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// parseOrigins reads a comma-separated list of web origins (scheme://host[:port], as a browser
// names the page that sends a message or embeds a frame): lowercased, without a default port, each
// once. An empty list is valid.
func parseOrigins(raw string) ([]string, error) {
	var out []string
	for _, item := range commaList(raw) {
		origin, err := parseOrigin(item)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(out, origin) {
			out = append(out, origin)
		}
	}
	return out, nil
}

// parseOrigin checks one origin and returns it as a browser serializes it.
func parseOrigin(raw string) (string, error) {
	bad := func(why string) error {
		return fmt.Errorf("%q is not an origin like https://app.example.com (scheme://host[:port]): %s", raw, why)
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return "", bad("it does not parse")
	case u.Scheme == "" || u.Opaque != "" || !strings.Contains(raw, "://"):
		return "", bad("no scheme://")
	case u.User != nil:
		return "", bad("it has a user")
	case u.Host == "" || u.Hostname() == "":
		return "", bad("no host")
	case strings.Contains(u.Host, "*"):
		return "", bad("wildcards are not allowed; list each origin")
	case u.Path != "" || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(raw, "#"):
		return "", bad("no path, query or fragment (not even a trailing /)")
	}
	scheme, host, port := strings.ToLower(u.Scheme), strings.ToLower(u.Hostname()), u.Port()
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return "", bad("the port must be 1-65535")
		}
		if (scheme == "http" && n == 80) || (scheme == "https" && n == 443) {
			port = ""
		} else {
			port = strconv.Itoa(n)
		}
	} else if strings.HasSuffix(u.Host, ":") {
		return "", bad("an empty port")
	}
	if strings.Contains(host, ":") { // IPv6
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	return scheme + "://" + host, nil
}

// parseAgentClaim reads TIMDESK_AUTH_JWT_AGENT_CLAIM, "claim=value" (e.g. "role=agent").
func parseAgentClaim(raw string) (name, value string, err error) {
	name, value, found := strings.Cut(raw, "=")
	name, value = strings.TrimSpace(name), strings.TrimSpace(value)
	if !found || name == "" || value == "" {
		return "", "", errors.New(`must look like claim=value, e.g. role=agent`)
	}
	switch name {
	case "sub", "exp", "nbf", "iat", "iss", "jti":
		return "", "", fmt.Errorf("cannot use the registered claim %q", name)
	}
	return name, value, nil
}

// String describes the configuration with every secret redacted.
func (c Config) String() string {
	red := func(s string) string {
		if s == "" {
			return `""`
		}
		return "[redacted]"
	}
	apiKey := ""
	if c.TemporalAPIKey {
		apiKey = "set"
	}
	return fmt.Sprintf("Config{SDKAppID:%d SecretKey:%s Admin:%q TIMBaseURL:%q CallbackToken:%s InsecureNoCallbackToken:%t ServiceAccount:%q "+
		"JWTSecret:%s JWTIssuer:%q JWTAudience:%q JWTAgentClaim:%q JWTAgentValue:%q AdminAPIKey:%s Listen:%q TemporalAddress:%q TemporalNamespace:%q "+
		"ChatTransport:%q TemporalTLS:%t TemporalAPIKey:%s TaskQueue:%q OpenAIBaseURL:%q OpenAIAPIKey:%s LLMModel:%q RosterFile:%q LogFormat:%q UserSigTTL:%s "+
		"CallbackBudget:%s TranslateBudget:%s RequestTimeout:%s UserSigRate:%q TrustedProxies:%q ChatHostOrigins:%q}",
		c.SDKAppID, red(c.SecretKey), c.Admin, c.TIMBaseURL, red(c.CallbackToken), c.InsecureNoCallbackToken, c.ServiceAccount,
		red(c.JWTSecret), c.JWTIssuer, c.JWTAudience, c.JWTAgentClaim, c.JWTAgentValue, red(c.AdminAPIKey), c.Listen, c.TemporalAddress, c.TemporalNamespace,
		c.ChatTransport, c.TemporalTLS, red(apiKey), c.TaskQueue, c.OpenAIBaseURL, red(c.OpenAIAPIKey), c.LLMModel, c.RosterFile, c.LogFormat, c.UserSigTTL,
		c.CallbackBudget, c.TranslateBudget, c.RequestTimeout, c.rawUserSigRate, c.TrustedProxies, c.ChatHostOrigins)
}

// LogValue keeps secrets out of slog output when a Config is logged.
func (c Config) LogValue() slog.Value { return slog.StringValue(c.String()) }
