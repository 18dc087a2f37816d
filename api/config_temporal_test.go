package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// selfSignedPEM returns a throwaway client certificate and key, PEM-encoded.
func selfSignedPEM(tb testing.TB) (certPEM, keyPEM string) {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "timdesk-test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		tb.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}))
}

// TestLoadConfigTemporal: the Temporal connection comes from envconfig through the injected getenv
// (Temporal Cloud API keys, mTLS, a TOML profile), with our address and namespace defaults.
func TestLoadConfigTemporal(t *testing.T) {
	certPEM, keyPEM := selfSignedPEM(t)
	dir := t.TempDir()
	profile := filepath.Join(dir, "temporal.toml")
	if err := os.WriteFile(profile, []byte(`
[profile.default]
address = "from-file.example:7233"
namespace = "file-ns"

[profile.cloud]
address = "acct.tmprl.cloud:7233"
namespace = "prod.acct"
api_key = "file-api-key-secret"
`), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		env         map[string]string
		wantAddr    string
		wantNS      string
		wantTLS     bool
		wantAPIKey  bool
		wantCerts   int
		wantErr     string // substring of the config error naming the variable
		secretValue string // must appear neither in the error nor in Config.String
	}{
		{name: "defaults", wantAddr: "localhost:7233", wantNS: "default"},
		{name: "address and namespace", env: map[string]string{"TEMPORAL_ADDRESS": "temporal:7233", "TEMPORAL_NAMESPACE": "timdesk"},
			wantAddr: "temporal:7233", wantNS: "timdesk"},
		{name: "blank values keep the defaults", env: map[string]string{"TEMPORAL_ADDRESS": "  ", "TEMPORAL_NAMESPACE": ""},
			wantAddr: "localhost:7233", wantNS: "default"},
		{name: "Temporal Cloud API key turns TLS on", env: map[string]string{
			"TEMPORAL_ADDRESS": "acct.tmprl.cloud:7233", "TEMPORAL_NAMESPACE": "prod.acct", "TEMPORAL_API_KEY": "api-key-secret"},
			wantAddr: "acct.tmprl.cloud:7233", wantNS: "prod.acct", wantTLS: true, wantAPIKey: true, secretValue: "api-key-secret"},
		{name: "API key with TLS off", env: map[string]string{"TEMPORAL_API_KEY": "api-key-secret", "TEMPORAL_TLS": "false"},
			wantAddr: "localhost:7233", wantNS: "default", wantAPIKey: true, secretValue: "api-key-secret"},
		{name: "TLS on by itself", env: map[string]string{"TEMPORAL_TLS": "true", "TEMPORAL_TLS_SERVER_NAME": "temporal.internal"},
			wantAddr: "localhost:7233", wantNS: "default", wantTLS: true},
		{name: "mTLS from data", env: map[string]string{"TEMPORAL_TLS_CLIENT_CERT_DATA": certPEM, "TEMPORAL_TLS_CLIENT_KEY_DATA": keyPEM},
			wantAddr: "localhost:7233", wantNS: "default", wantTLS: true, wantCerts: 1, secretValue: keyPEM},
		{name: "TOML profile", env: map[string]string{"TEMPORAL_CONFIG_FILE": profile},
			wantAddr: "from-file.example:7233", wantNS: "file-ns"},
		{name: "TOML profile chosen, variables win", env: map[string]string{"TEMPORAL_CONFIG_FILE": profile, "TEMPORAL_PROFILE": "cloud",
			"TEMPORAL_NAMESPACE": "staging.acct"},
			wantAddr: "acct.tmprl.cloud:7233", wantNS: "staging.acct", wantTLS: true, wantAPIKey: true, secretValue: "file-api-key-secret"},
		{name: "bad TEMPORAL_TLS", env: map[string]string{"TEMPORAL_TLS": "yes please"}, wantErr: "TEMPORAL_TLS must be true or false"},
		{name: "bad host verification flag", env: map[string]string{"TEMPORAL_TLS_DISABLE_HOST_VERIFICATION": "2"},
			wantErr: "TEMPORAL_TLS_DISABLE_HOST_VERIFICATION must be true or false"},
		{name: "cert without key", env: map[string]string{"TEMPORAL_TLS_CLIENT_CERT_DATA": certPEM}, wantErr: "temporal connection"},
		{name: "key that is no key", env: map[string]string{"TEMPORAL_TLS_CLIENT_CERT_DATA": certPEM, "TEMPORAL_TLS_CLIENT_KEY_DATA": "not-a-key-secret"},
			wantErr: "temporal connection", secretValue: "not-a-key-secret"},
		{name: "unknown profile", env: map[string]string{"TEMPORAL_CONFIG_FILE": profile, "TEMPORAL_PROFILE": "nope"}, wantErr: "temporal connection"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := requiredEnv()
			for k, v := range tt.env {
				env[k] = v
			}
			cfg, err := loadConfig(envMap(env))
			if tt.wantErr != "" {
				if !errors.Is(err, errInvalidConfig) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want errInvalidConfig containing %q", err, tt.wantErr)
				}
				if tt.secretValue != "" && strings.Contains(err.Error(), tt.secretValue) {
					t.Errorf("error leaks the secret: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			opts := cfg.temporalClientOptions()
			tlsOn := opts.ConnectionOptions.TLS != nil && !opts.ConnectionOptions.TLSDisabled
			checks := []struct {
				name      string
				got, want any
			}{
				{"HostPort", opts.HostPort, tt.wantAddr},
				{"Namespace", opts.Namespace, tt.wantNS},
				{"TemporalAddress", cfg.TemporalAddress, tt.wantAddr},
				{"TemporalNamespace", cfg.TemporalNamespace, tt.wantNS},
				{"TLS", tlsOn, tt.wantTLS},
				{"TemporalTLS", cfg.TemporalTLS, tt.wantTLS},
				{"Credentials", opts.Credentials != nil, tt.wantAPIKey},
				{"TemporalAPIKey", cfg.TemporalAPIKey, tt.wantAPIKey},
			}
			for _, c := range checks {
				if c.got != c.want {
					t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
				}
			}
			if tt.wantCerts > 0 && (opts.ConnectionOptions.TLS == nil || len(opts.ConnectionOptions.TLS.Certificates) != tt.wantCerts) {
				t.Errorf("client certificates = %+v, want %d", opts.ConnectionOptions.TLS, tt.wantCerts)
			}
			if s := cfg.String(); tt.secretValue != "" && strings.Contains(s, tt.secretValue) {
				t.Errorf("String() leaks the secret: %s", s)
			}
		})
	}
}
