package main

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadConfigTemporal(t *testing.T) {
	base := map[string]string{
		"TIMDESK_SDKAPPID": "1400000000", "TIMDESK_SECRET_KEY": "s3cr3t", "TIMDESK_ROSTER_FILE": "roster.yaml",
		"TEMPORAL_CONFIG_FILE": filepath.Join(t.TempDir(), "missing.toml"),
	}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	cfg, err := LoadConfig(envFunc(with("TEMPORAL_ADDRESS", "t.example:7233", "TEMPORAL_NAMESPACE", "desk", "TEMPORAL_API_KEY", "key-123")))
	if err != nil {
		t.Fatal(err)
	}
	o := cfg.TemporalClientOptions()
	if cfg.TemporalAddress != "t.example:7233" || cfg.TemporalNamespace != "desk" || o.HostPort != "t.example:7233" || o.Namespace != "desk" || o.Credentials == nil {
		t.Errorf("config %s/%s, options %s/%s creds=%v", cfg.TemporalAddress, cfg.TemporalNamespace, o.HostPort, o.Namespace, o.Credentials)
	}
	if s := cfg.String(); strings.Contains(s, "key-123") || !strings.Contains(s, "api_key=REDACTED") || !strings.Contains(s, "tls=true") {
		t.Errorf("String() = %s", s)
	}
	// a Temporal problem is reported with the others
	m := with("TEMPORAL_TLS", "maybe", "TIMDESK_LOG_FORMAT", "xml")
	delete(m, "TIMDESK_SDKAPPID")
	_, err = LoadConfig(envFunc(m))
	for _, want := range []string{"TEMPORAL_TLS", "TIMDESK_LOG_FORMAT", "TIMDESK_SDKAPPID"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not mention %s", err, want)
		}
	}
}
