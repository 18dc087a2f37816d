package temporalenv

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.temporal.io/sdk/client"
)

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	profiles := filepath.Join(dir, "temporal.toml")
	toml := "[profile.default]\naddress = \"file.example:7233\"\nnamespace = \"from-file\"\n\n[profile.staging]\naddress = \"staging.example:7233\"\napi_key = \"file-key\"\n"
	if err := os.WriteFile(profiles, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	noFile := filepath.Join(dir, "missing.toml") // isolates the tests from the user's own profile
	cases := []struct {
		name    string
		env     map[string]string
		check   func(t *testing.T, o client.Options)
		wantErr string
	}{
		{"defaults", map[string]string{}, func(t *testing.T, o client.Options) {
			if o.HostPort != "localhost:7233" || o.Namespace != "default" || o.Credentials != nil || o.ConnectionOptions.TLS != nil {
				t.Errorf("got %s/%s creds=%v tls=%v, want localhost:7233/default without credentials or TLS", o.HostPort, o.Namespace, o.Credentials, o.ConnectionOptions.TLS)
			}
		}, ""},
		{"address and namespace", map[string]string{"TEMPORAL_ADDRESS": " temporal.internal:7233 ", "TEMPORAL_NAMESPACE": "desk"}, func(t *testing.T, o client.Options) {
			if o.HostPort != "temporal.internal:7233" || o.Namespace != "desk" {
				t.Errorf("got %s/%s", o.HostPort, o.Namespace)
			}
		}, ""},
		{"blank values keep the defaults", map[string]string{"TEMPORAL_ADDRESS": "  ", "TEMPORAL_NAMESPACE": ""}, func(t *testing.T, o client.Options) {
			if o.HostPort != "localhost:7233" || o.Namespace != "default" {
				t.Errorf("got %s/%s", o.HostPort, o.Namespace)
			}
		}, ""},
		{"api key turns TLS on", map[string]string{"TEMPORAL_ADDRESS": "ns.acct.tmprl.cloud:7233", "TEMPORAL_API_KEY": "key-123"}, func(t *testing.T, o client.Options) {
			if o.Credentials == nil || o.ConnectionOptions.TLS == nil {
				t.Errorf("creds=%v tls=%v, want both", o.Credentials, o.ConnectionOptions.TLS)
			}
		}, ""},
		{"api key without TLS", map[string]string{"TEMPORAL_API_KEY": "key-123", "TEMPORAL_TLS": "false"}, func(t *testing.T, o client.Options) {
			if o.Credentials == nil || !o.ConnectionOptions.TLSDisabled {
				t.Errorf("creds=%v tlsDisabled=%v", o.Credentials, o.ConnectionOptions.TLSDisabled)
			}
		}, ""},
		{"tls server name and host verification", map[string]string{"TEMPORAL_TLS": "true", "TEMPORAL_TLS_SERVER_NAME": "temporal.example", "TEMPORAL_TLS_DISABLE_HOST_VERIFICATION": "1"}, func(t *testing.T, o client.Options) {
			tls := o.ConnectionOptions.TLS
			if tls == nil || tls.ServerName != "temporal.example" || !tls.InsecureSkipVerify {
				t.Errorf("tls = %+v", tls)
			}
		}, ""},
		{"config file profile", map[string]string{"TEMPORAL_CONFIG_FILE": profiles}, func(t *testing.T, o client.Options) {
			if o.HostPort != "file.example:7233" || o.Namespace != "from-file" {
				t.Errorf("got %s/%s", o.HostPort, o.Namespace)
			}
		}, ""},
		{"environment overrides the profile", map[string]string{"TEMPORAL_CONFIG_FILE": profiles, "TEMPORAL_PROFILE": "staging", "TEMPORAL_NAMESPACE": "env-ns"}, func(t *testing.T, o client.Options) {
			if o.HostPort != "staging.example:7233" || o.Namespace != "env-ns" || o.Credentials == nil {
				t.Errorf("got %s/%s creds=%v", o.HostPort, o.Namespace, o.Credentials)
			}
		}, ""},
		{"unknown profile", map[string]string{"TEMPORAL_CONFIG_FILE": profiles, "TEMPORAL_PROFILE": "prod"}, nil, "prod"},
		{"bad TEMPORAL_TLS", map[string]string{"TEMPORAL_TLS": "maybe", "TEMPORAL_API_KEY": "key-123"}, nil, "TEMPORAL_TLS must be true or false"},
		{"bad host verification flag", map[string]string{"TEMPORAL_TLS_DISABLE_HOST_VERIFICATION": "yes"}, nil, "TEMPORAL_TLS_DISABLE_HOST_VERIFICATION"},
		{"client cert without key", map[string]string{"TEMPORAL_TLS_CLIENT_CERT_PATH": filepath.Join(dir, "client.pem"), "TEMPORAL_API_KEY": "key-123"}, nil, "cert or key path"},
		{"missing CA file", map[string]string{"TEMPORAL_TLS_SERVER_CA_CERT_PATH": filepath.Join(dir, "ca.pem")}, nil, "server CA"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := map[string]string{"TEMPORAL_CONFIG_FILE": noFile}
			for k, v := range c.env {
				env[k] = v
			}
			o, err := Load(envFunc(env))
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("error = %v, want one mentioning %q", err, c.wantErr)
				}
				if strings.Contains(err.Error(), "key-123") {
					t.Errorf("error leaks the API key: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c.check(t, o)
		})
	}
}

// envFunc serves m as getenv.
func envFunc(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
