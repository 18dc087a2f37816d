package main

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/timdesk/timdesk/tim"
	"github.com/timdesk/timdesk/tim/timsim"
)

// Defaults of the environment variables.
const (
	defaultListen      = "127.0.0.1:9800"
	defaultSDKAppID    = 1400000000
	defaultCallbackURL = "http://127.0.0.1:8080/tim/callback"
)

// config is the program's configuration, read once from the environment.
type config struct {
	Listen        string
	SDKAppID      uint64
	SecretKey     string
	Admin         string
	CallbackURL   string // "" when TIMSIM_CALLBACK_URL=off
	CallbackToken string
	FailClosed    bool
	// CallbackTimeout bounds each callback (Tencent: 2 s; raise it only for slow test machines).
	CallbackTimeout time.Duration
	Accounts        []string
	Windows         []timsim.Window
	// ServiceAccount is the app's service account, marked on the chat page.
	ServiceAccount string
	LogFormat      string
}

// loadConfig reads the environment through getenv and reports every problem in one error:
//
//	TIMSIM_LISTEN          listen address (default 127.0.0.1:9800)
//	TIMDESK_SDKAPPID       SDKAppID (default 1400000000)
//	TIMDESK_SECRET_KEY     secret key that verifies the admin UserSig (required)
//	TIMDESK_ADMIN          App admin account (default administrator)
//	TIMSIM_CALLBACK_URL    callback URL (default http://127.0.0.1:8080/tim/callback; "off" disables)
//	TIMDESK_CALLBACK_TOKEN callback auth token: adds RequestTime and Sign (optional)
//	TIMSIM_FAIL_CLOSED     true: a failed before-send callback rejects with 80003 (default false)
//	TIMSIM_CALLBACK_TIMEOUT callback timeout as a Go duration (default 2s, as Tencent)
//	TIMSIM_ACCOUNTS        comma-separated UserIDs imported at start (optional)
//	TIMSIM_WINDOWS         the page's first windows, "user:peer,user:peer" (default alice:support,agent_emma:alice,agent_li:alice)
//	TIMDESK_SERVICE_ACCOUNT the app's service account, whose messages the page marks (default support)
//	TIMDESK_LOG_FORMAT     json or text (default json)
func loadConfig(getenv func(string) string) (config, error) {
	c := config{
		Listen:         orDefault(getenv("TIMSIM_LISTEN"), defaultListen),
		SDKAppID:       defaultSDKAppID,
		SecretKey:      getenv("TIMDESK_SECRET_KEY"),
		Admin:          orDefault(getenv("TIMDESK_ADMIN"), tim.DefaultAdmin),
		CallbackURL:    orDefault(getenv("TIMSIM_CALLBACK_URL"), defaultCallbackURL),
		CallbackToken:  getenv("TIMDESK_CALLBACK_TOKEN"),
		LogFormat:      orDefault(getenv("TIMDESK_LOG_FORMAT"), "json"),
		ServiceAccount: orDefault(getenv("TIMDESK_SERVICE_ACCOUNT"), timsim.DefaultServiceAccount),
	}
	var problems []string
	if v := getenv("TIMDESK_SDKAPPID"); v != "" {
		id, err := strconv.ParseUint(v, 10, 64)
		if err != nil || id == 0 {
			problems = append(problems, "TIMDESK_SDKAPPID must be a positive integer")
		}
		c.SDKAppID = id
	}
	if c.SecretKey == "" {
		problems = append(problems, "TIMDESK_SECRET_KEY is required")
	}
	if err := tim.ValidateUserID(c.Admin); err != nil {
		problems = append(problems, "TIMDESK_ADMIN: "+err.Error())
	}
	if strings.EqualFold(c.CallbackURL, "off") {
		c.CallbackURL = ""
	} else if u, err := url.Parse(c.CallbackURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		problems = append(problems, `TIMSIM_CALLBACK_URL must be an http(s) URL or "off"`)
	}
	c.CallbackTimeout = timsim.DefaultCallbackTimeout
	if v := getenv("TIMSIM_CALLBACK_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			problems = append(problems, "TIMSIM_CALLBACK_TIMEOUT must be a positive duration such as 2s")
		}
		c.CallbackTimeout = d
	}
	if v := getenv("TIMSIM_FAIL_CLOSED"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			problems = append(problems, "TIMSIM_FAIL_CLOSED must be true or false")
		}
		c.FailClosed = b
	}
	for _, id := range splitList(getenv("TIMSIM_ACCOUNTS")) {
		if err := tim.ValidateUserID(id); err != nil {
			problems = append(problems, fmt.Sprintf("TIMSIM_ACCOUNTS: %q: %v", id, err))
			continue
		}
		c.Accounts = append(c.Accounts, id)
	}
	for _, w := range splitList(getenv("TIMSIM_WINDOWS")) {
		user, peer, ok := strings.Cut(w, ":")
		if !ok || tim.ValidateUserID(user) != nil || tim.ValidateUserID(peer) != nil {
			problems = append(problems, fmt.Sprintf("TIMSIM_WINDOWS: %q is not user:peer", w))
			continue
		}
		c.Windows = append(c.Windows, timsim.Window{User: user, Peer: peer})
	}
	if err := tim.ValidateUserID(c.ServiceAccount); err != nil {
		problems = append(problems, "TIMDESK_SERVICE_ACCOUNT: "+err.Error())
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		problems = append(problems, "TIMDESK_LOG_FORMAT must be json or text")
	}
	if len(problems) > 0 {
		return c, errors.New("config: " + strings.Join(problems, "; "))
	}
	return c, nil
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func splitList(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
