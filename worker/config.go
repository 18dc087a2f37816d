package main

import (
	"errors"
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/timdesk/timdesk/activities"
	"github.com/timdesk/timdesk/desk"
	"github.com/timdesk/timdesk/internal/temporalenv"
	"github.com/timdesk/timdesk/tim"
	"github.com/timdesk/timdesk/workflows"
)

// DefaultSendRate is Tencent IM's default sendmsg quota per app (sends per second).
const DefaultSendRate = 200

// Default concurrent task polls (worker.Options MaxConcurrent*TaskPollers).
const (
	DefaultWorkflowPollers = 8
	DefaultActivityPollers = 4
)

// Config is the worker's whole configuration, read once from the environment by LoadConfig.
type Config struct {
	SDKAppID       uint64 // TIMDESK_SDKAPPID (required)
	secretKey      string // TIMDESK_SECRET_KEY (required; never printed)
	Admin          string // TIMDESK_ADMIN (default administrator)
	TIMBaseURL     string // TIMDESK_TIM_BASE_URL (default https://console.tim.qq.com)
	ServiceAccount string // TIMDESK_SERVICE_ACCOUNT (default support)

	// The Temporal connection comes from go.temporal.io/sdk/contrib/envconfig: the optional TOML
	// profile (TEMPORAL_CONFIG_FILE, TEMPORAL_PROFILE), then TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
	// TEMPORAL_API_KEY, TEMPORAL_CLIENT_AUTHORITY, TEMPORAL_TLS, TEMPORAL_TLS_CLIENT_CERT_PATH|DATA,
	// TEMPORAL_TLS_CLIENT_KEY_PATH|DATA, TEMPORAL_TLS_SERVER_CA_CERT_PATH|DATA,
	// TEMPORAL_TLS_SERVER_NAME, TEMPORAL_TLS_DISABLE_HOST_VERIFICATION; see TemporalClientOptions.
	TemporalAddress   string // TEMPORAL_ADDRESS (default localhost:7233)
	TemporalNamespace string // TEMPORAL_NAMESPACE (default default)
	TaskQueue         string // TIMDESK_TASK_QUEUE (default timdesk)
	temporal          client.Options

	OpenAIBaseURL string // OPENAI_BASE_URL
	openAIAPIKey  string // OPENAI_API_KEY (never printed)
	LLMModel      string // TIMDESK_LLM_MODEL (default gpt-4o-mini)

	RosterFile   string  // TIMDESK_ROSTER_FILE (required: make run sets deploy/demo/roster.yaml)
	FAQFile      string  // TIMDESK_FAQ_FILE (optional: none, the offline answerer knows nothing)
	FAQThreshold float64 // TIMDESK_FAQ_THRESHOLD (default 0.6)
	DeskLanguage string  // TIMDESK_DESK_LANGUAGE (default en)
	LogFormat    string  // TIMDESK_LOG_FORMAT json|text (default json)
	LogLevel     string  // TIMDESK_LOG_LEVEL debug|info|warn|error (default info)
	// Listen serves GET /healthz and GET /readyz for the orchestrator's probes (e.g. :9090);
	// "" (the default) serves nothing.
	Listen string // TIMDESK_WORKER_LISTEN
	// SendRate is this worker's sendmsg pace (sends per second): Tencent's per-app quota (200/s
	// by default) divided by the number of worker replicas; 0 sends unpaced.
	SendRate float64 // TIMDESK_SEND_RATE (default 200)
	// WorkflowPollers is the most concurrent polls for workflow tasks on the normal queue, and as
	// many on the worker's sticky queue (TIMDESK_WORKFLOW_POLLERS, default 8); ActivityPollers for
	// activity tasks (TIMDESK_ACTIVITY_POLLERS, default 4). The SDK's 2 in one pool left workflow
	// tasks waiting seconds for a poll at 60 messages/s on 2 cores.
	WorkflowPollers int
	ActivityPollers int
	// MetricsListen is where the worker serves GET /metrics (TIMDESK_WORKER_METRICS_LISTEN,
	// default :9464; "off" disables): the Temporal SDK's worker metrics and timdesk's own.
	MetricsListen string

	HumanKeywords    []string      // TIMDESK_HUMAN_KEYWORDS, comma separated (default 人工,转人工,human,agent,真人)
	AIIdleTimeout    time.Duration // TIMDESK_AI_IDLE_TIMEOUT (default 30m)
	QueueIdleTimeout time.Duration // TIMDESK_QUEUE_IDLE_TIMEOUT (default 24h)
	HumanIdleTimeout time.Duration // TIMDESK_HUMAN_IDLE_TIMEOUT (default 2h)
	MinConfidence    float64       // TIMDESK_MIN_CONFIDENCE (default 0.5)
	RatingPrompt     bool          // TIMDESK_RATING_PROMPT (default true)
	RatingWindow     time.Duration // TIMDESK_RATING_WINDOW: how long a closed consultation waits for the rating (default 5m)
}

// LLMConfigured reports whether an LLM endpoint is configured (OPENAI_BASE_URL or OPENAI_API_KEY).
func (c Config) LLMConfigured() bool { return c.OpenAIBaseURL != "" || c.openAIAPIKey != "" }

// String prints the configuration with secrets redacted.
func (c Config) String() string {
	redact := func(s string) string {
		if s == "" {
			return ""
		}
		return "REDACTED"
	}
	apiKey := ""
	if c.temporal.Credentials != nil {
		apiKey = "REDACTED"
	}
	return fmt.Sprintf("sdkappid=%d secret=%s admin=%s tim=%s service=%s temporal=%s/%s(tls=%v api_key=%s) queue=%s llm=%v(%s %s key=%s) roster=%s faq=%s desk_language=%s metrics=%s",
		c.SDKAppID, redact(c.secretKey), c.Admin, c.TIMBaseURL, c.ServiceAccount, c.TemporalAddress, c.TemporalNamespace,
		c.temporal.ConnectionOptions.TLS != nil, apiKey, c.TaskQueue, c.LLMConfigured(), c.OpenAIBaseURL, c.LLMModel, redact(c.openAIAPIKey), c.RosterFile, c.FAQFile, c.DeskLanguage, c.MetricsListen)
}

// LoadConfig reads the environment through getenv and reports every problem in one error.
func LoadConfig(getenv func(string) string) (Config, error) {
	var problems []string
	str := func(key, def string) string {
		if v := strings.TrimSpace(getenv(key)); v != "" {
			return v
		}
		return def
	}
	dur := func(key string, def time.Duration) time.Duration {
		v := str(key, "")
		if v == "" {
			return def
		}
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			problems = append(problems, key+" must be a positive duration like 30m")
			return def
		}
		return d
	}
	float := func(key string, def float64) float64 {
		v := str(key, "")
		if v == "" {
			return def
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 || f > 1 {
			problems = append(problems, key+" must be a number between 0 and 1")
			return def
		}
		return f
	}
	def := desk.DefaultPolicy()
	c := Config{
		secretKey:        getenv("TIMDESK_SECRET_KEY"),
		Admin:            str("TIMDESK_ADMIN", tim.DefaultAdmin),
		TIMBaseURL:       str("TIMDESK_TIM_BASE_URL", tim.DefaultBaseURL),
		ServiceAccount:   str("TIMDESK_SERVICE_ACCOUNT", desk.DefaultServiceAccount),
		TaskQueue:        str("TIMDESK_TASK_QUEUE", workflows.TaskQueueDefault),
		OpenAIBaseURL:    str("OPENAI_BASE_URL", ""),
		openAIAPIKey:     strings.TrimSpace(getenv("OPENAI_API_KEY")),
		LLMModel:         str("TIMDESK_LLM_MODEL", activities.DefaultLLMModel),
		RosterFile:       str("TIMDESK_ROSTER_FILE", ""),
		FAQFile:          str("TIMDESK_FAQ_FILE", ""),
		FAQThreshold:     float("TIMDESK_FAQ_THRESHOLD", activities.DefaultFAQThreshold),
		DeskLanguage:     desk.NormalizeLanguage(str("TIMDESK_DESK_LANGUAGE", desk.DefaultDeskLanguage)),
		LogFormat:        str("TIMDESK_LOG_FORMAT", "json"),
		MetricsListen:    str("TIMDESK_WORKER_METRICS_LISTEN", DefaultMetricsListen),
		LogLevel:         str("TIMDESK_LOG_LEVEL", "info"),
		Listen:           str("TIMDESK_WORKER_LISTEN", ""),
		SendRate:         DefaultSendRate,
		WorkflowPollers:  DefaultWorkflowPollers,
		ActivityPollers:  DefaultActivityPollers,
		HumanKeywords:    def.HumanKeywords,
		AIIdleTimeout:    dur("TIMDESK_AI_IDLE_TIMEOUT", def.AIIdleTimeout),
		QueueIdleTimeout: dur("TIMDESK_QUEUE_IDLE_TIMEOUT", def.QueueIdleTimeout),
		HumanIdleTimeout: dur("TIMDESK_HUMAN_IDLE_TIMEOUT", def.HumanIdleTimeout),
		MinConfidence:    float("TIMDESK_MIN_CONFIDENCE", def.MinConfidence),
		RatingWindow:     dur("TIMDESK_RATING_WINDOW", def.RatingWindow),
		RatingPrompt:     true,
	}
	if opts, err := temporalenv.Load(getenv); err != nil {
		problems = append(problems, err.Error())
	} else {
		c.temporal, c.TemporalAddress, c.TemporalNamespace = opts, opts.HostPort, opts.Namespace
	}
	if v := str("TIMDESK_SDKAPPID", ""); v == "" {
		problems = append(problems, "TIMDESK_SDKAPPID is required")
	} else if id, err := strconv.ParseUint(v, 10, 64); err != nil || id == 0 {
		problems = append(problems, "TIMDESK_SDKAPPID must be a positive integer")
	} else {
		c.SDKAppID = id
	}
	if c.RosterFile == "" {
		// No default: the demo roster's agents would be imported into a real Tencent app and
		// handed real customers.
		problems = append(problems, "TIMDESK_ROSTER_FILE is required: the YAML roster of your agents and their shifts (make run uses deploy/demo/roster.yaml)")
	}
	switch {
	case c.secretKey == "":
		problems = append(problems, "TIMDESK_SECRET_KEY is required")
	case strings.HasPrefix(c.secretKey, "replace-with-"): // deploy/timdesk.env.example's placeholder
		problems = append(problems, "TIMDESK_SECRET_KEY still holds the placeholder from timdesk.env.example: set the key from the IM console")
	}
	if kw := str("TIMDESK_HUMAN_KEYWORDS", ""); kw != "" {
		c.HumanKeywords = nil
		for _, k := range strings.Split(kw, ",") {
			if k = strings.TrimSpace(k); k != "" {
				c.HumanKeywords = append(c.HumanKeywords, k)
			}
		}
	}
	if v := str("TIMDESK_SEND_RATE", ""); v != "" {
		r, err := strconv.ParseFloat(v, 64)
		if err != nil || r < 0 || math.IsInf(r, 0) || math.IsNaN(r) {
			problems = append(problems, "TIMDESK_SEND_RATE must be a number of sends per second (0: unpaced)")
		} else {
			c.SendRate = r
		}
	}
	for _, p := range []struct {
		name string
		to   *int
	}{{"TIMDESK_WORKFLOW_POLLERS", &c.WorkflowPollers}, {"TIMDESK_ACTIVITY_POLLERS", &c.ActivityPollers}} {
		if v := str(p.name, ""); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 2 || n > 100 {
				problems = append(problems, p.name+" must be an integer between 2 and 100")
			} else {
				*p.to = n
			}
		}
	}
	if v := str("TIMDESK_RATING_PROMPT", ""); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			problems = append(problems, "TIMDESK_RATING_PROMPT must be true or false")
		}
		c.RatingPrompt = b
	}
	if c.MetricsListen != MetricsOff {
		if _, _, err := net.SplitHostPort(c.MetricsListen); err != nil {
			problems = append(problems, "TIMDESK_WORKER_METRICS_LISTEN must be host:port (e.g. :9464) or off")
		}
	}
	switch c.LogFormat {
	case "json", "text":
	default:
		problems = append(problems, "TIMDESK_LOG_FORMAT must be json or text")
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		problems = append(problems, "TIMDESK_LOG_LEVEL must be debug, info, warn or error")
	}
	if len(problems) > 0 {
		return c, errors.New("config: " + strings.Join(problems, "; "))
	}
	return c, nil
}

// Metrics listen address default, and the value that switches the metrics server off.
const (
	DefaultMetricsListen = ":9464"
	MetricsOff           = "off"
)

// Temporal connection defaults, used when neither the environment nor a config profile sets them.
const (
	DefaultTemporalAddress   = temporalenv.DefaultAddress
	DefaultTemporalNamespace = temporalenv.DefaultNamespace
)

// TemporalClientOptions returns the Temporal client options LoadConfig loaded (address,
// namespace, API key credentials, TLS); the caller adds its logger and metrics.
func (c Config) TemporalClientOptions() client.Options { return c.temporal }

// Policy is the consultation policy this configuration gives (roster timeouts are added by the Router).
func (c Config) Policy() desk.Policy {
	p := desk.DefaultPolicy()
	p.DeskLanguage = c.DeskLanguage
	p.HumanKeywords = c.HumanKeywords
	p.AIIdleTimeout, p.QueueIdleTimeout, p.HumanIdleTimeout = c.AIIdleTimeout, c.QueueIdleTimeout, c.HumanIdleTimeout
	p.MinConfidence = c.MinConfidence
	p.RatingPrompt, p.RatingWindow = c.RatingPrompt, c.RatingWindow
	p.TranslationEnabled = c.LLMConfigured()
	return p
}
