package main

import (
	"bytes"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"
)

func mustPrefixes(tb testing.TB, entries ...string) []netip.Prefix {
	tb.Helper()
	p, err := parseTrustedProxies(entries)
	if err != nil {
		tb.Fatalf("parseTrustedProxies(%q): %v", entries, err)
	}
	return p
}

func TestParseTrustedProxies(t *testing.T) {
	tests := []struct {
		in      string
		want    string // "" = error
		inside  string
		outside string
	}{
		{"10.0.0.0/8", "10.0.0.0/8", "10.200.1.1", "11.0.0.1"},
		{"10.1.2.3/8", "10.0.0.0/8", "10.9.9.9", "11.0.0.1"},
		{"192.0.2.10", "192.0.2.10/32", "192.0.2.10", "192.0.2.11"},
		{"::ffff:192.0.2.10", "192.0.2.10/32", "192.0.2.10", "192.0.2.11"},
		{"::ffff:10.0.0.0/104", "10.0.0.0/8", "10.1.1.1", "11.1.1.1"},
		{"fd00::/8", "fd00::/8", "fd12::1", "fe80::1"},
		{"2001:db8::1", "2001:db8::1/128", "2001:db8::1", "2001:db8::2"},
		{"proxy.internal", "", "", ""},
		{"10.0.0.0/33", "", "", ""},
		{"::ffff:10.0.0.0/8", "", "", ""},
		{"", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseTrustedProxies([]string{tt.in})
			if tt.want == "" {
				if err == nil {
					t.Fatalf("parseTrustedProxies(%q) = %v, want an error", tt.in, got)
				}
				return
			}
			if err != nil || len(got) != 1 || got[0].String() != tt.want {
				t.Fatalf("parseTrustedProxies(%q) = %v, %v; want [%s]", tt.in, got, err, tt.want)
			}
			if !trusted(got, netip.MustParseAddr(tt.inside)) || trusted(got, netip.MustParseAddr(tt.outside)) {
				t.Errorf("%s: %s should be inside, %s outside", tt.want, tt.inside, tt.outside)
			}
		})
	}
}

func TestClientAddr(t *testing.T) {
	proxies := []string{"10.0.0.0/8", "192.0.2.1", "fd00::/8"}
	tests := []struct {
		name string
		peer string
		xff  []string // header values in order
		want string
	}{
		{"untrusted peer, no header", "203.0.113.7", nil, "203.0.113.7"},
		{"untrusted peer's header is ignored", "203.0.113.7", []string{"198.51.100.9"}, "203.0.113.7"},
		{"untrusted peer claiming a trusted hop", "203.0.113.7", []string{"198.51.100.9, 10.0.0.1"}, "203.0.113.7"},
		{"trusted peer, no header: the peer", "10.0.0.1", nil, "10.0.0.1"},
		{"trusted peer, one client", "10.0.0.1", []string{"203.0.113.7"}, "203.0.113.7"},
		{"spoofed prefix is skipped", "10.0.0.1", []string{"1.2.3.4, 203.0.113.7"}, "203.0.113.7"},
		{"spoofed trusted-looking prefix", "10.0.0.1", []string{"10.9.9.9, 203.0.113.7"}, "203.0.113.7"},
		{"garbage prefix is never reached", "10.0.0.1", []string{"<script>, 203.0.113.7"}, "203.0.113.7"},
		{"two trusted hops", "10.0.0.1", []string{"1.2.3.4, 203.0.113.7, 192.0.2.1, 10.0.0.2"}, "203.0.113.7"},
		{"several headers are one list", "10.0.0.1", []string{"1.2.3.4", "203.0.113.7, 10.0.0.2"}, "203.0.113.7"},
		{"the last header counts", "10.0.0.1", []string{"203.0.113.7", "198.51.100.9"}, "198.51.100.9"},
		{"all hops trusted: the leftmost", "10.0.0.1", []string{"10.0.0.3, 10.0.0.2"}, "10.0.0.3"},
		{"rightmost entry garbage: the peer", "10.0.0.1", []string{"203.0.113.7, unknown"}, "10.0.0.1"},
		{"garbage behind a trusted hop: that hop", "10.0.0.1", []string{"203.0.113.7, nonsense, 10.0.0.2"}, "10.0.0.2"},
		{"empty header", "10.0.0.1", []string{""}, "10.0.0.1"},
		{"only commas", "10.0.0.1", []string{",,,"}, "10.0.0.1"},
		{"trailing comma", "10.0.0.1", []string{"203.0.113.7,"}, "10.0.0.1"},
		{"five-part IPv4", "10.0.0.1", []string{"1.2.3.4.5"}, "10.0.0.1"},
		{"overlong entry", "10.0.0.1", []string{strings.Repeat("1", 100)}, "10.0.0.1"},
		{"RFC 7239 syntax is not X-Forwarded-For", "10.0.0.1", []string{"for=203.0.113.7"}, "10.0.0.1"},
		{"IPv4 with a port", "10.0.0.1", []string{"203.0.113.7:4711"}, "203.0.113.7"},
		{"IPv6", "10.0.0.1", []string{"2001:db8::7"}, "2001:db8::7"},
		{"IPv6 in brackets with a port", "10.0.0.1", []string{"[2001:db8::7]:4711"}, "2001:db8::7"},
		{"IPv6 with a zone", "10.0.0.1", []string{"fe80::1%eth0"}, "fe80::1"},
		{"IPv4-mapped IPv6 entry", "10.0.0.1", []string{"::ffff:203.0.113.7"}, "203.0.113.7"},
		{"IPv4-mapped trusted hop", "10.0.0.1", []string{"203.0.113.7, ::ffff:10.0.0.2"}, "203.0.113.7"},
		{"IPv4-mapped peer is trusted", "::ffff:10.0.0.1", []string{"203.0.113.7"}, "203.0.113.7"},
		{"IPv4-mapped untrusted peer", "::ffff:203.0.113.7", []string{"1.2.3.4"}, "203.0.113.7"},
		{"IPv6 trusted peer", "fd00::1", []string{"1.2.3.4, 2001:db8::7"}, "2001:db8::7"},
		{"IPv6 untrusted peer", "2001:db8::7", []string{"1.2.3.4"}, "2001:db8::7"},
	}
	ps := mustPrefixes(t, proxies...)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var xff [][]byte
			for _, h := range tt.xff {
				xff = append(xff, []byte(h))
			}
			got := clientAddr(netip.MustParseAddr(tt.peer), xff, ps)
			if got != netip.MustParseAddr(tt.want) {
				t.Errorf("clientAddr(%s, %q) = %s, want %s", tt.peer, tt.xff, got, tt.want)
			}
		})
	}
}

func TestLimitKey(t *testing.T) {
	tests := []struct{ in, want string }{
		{"203.0.113.7", "203.0.113.7"},
		{"::ffff:203.0.113.7", "203.0.113.7"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::"},
		{"2001:db8:1:2::", "2001:db8:1:2::"},
		{"fe80::1%eth0", "fe80::"},
	}
	for _, tt := range tests {
		if got := limitKey(netip.MustParseAddr(tt.in)); got != netip.MustParseAddr(tt.want) {
			t.Errorf("limitKey(%s) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

// doFrom sends one request through the app's handler as if it arrived from peer, with the given
// X-Forwarded-For header values (each one header line), and returns the status.
func (e *testEnv) doFrom(tb testing.TB, peer, method, target, body, auth string, xff ...string) int {
	tb.Helper()
	var req fasthttp.Request
	req.Header.SetMethod(method)
	req.SetRequestURI(target)
	if body != "" {
		req.Header.SetContentType("application/json")
		req.SetBodyString(body)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	for _, v := range xff {
		req.Header.Add("X-Forwarded-For", v)
	}
	var ctx fasthttp.RequestCtx
	ctx.Init(&req, &net.TCPAddr{IP: net.ParseIP(peer), Port: 40000}, nil)
	e.app.Handler()(&ctx)
	return ctx.Response.StatusCode()
}

// limitedRequest is one request of TestClientIPRateLimit: from peer, with X-Forwarded-For xff
// ("" = none), expecting status.
type limitedRequest struct {
	peer, xff string
	want      int
}

func TestClientIPRateLimit(t *testing.T) {
	const proxy = "10.0.0.1"
	spoofed := func(client string, n int, last int) []limitedRequest {
		var out []limitedRequest
		for i := range n {
			want := 401
			if i >= 3 {
				want = last
			}
			prefix := []string{"198.51.100.%d", "garbage-%d", "10.9.9.%d", "2001:db8::%d"}[i%4]
			prefix = fmt.Sprintf(prefix, i+1)
			out = append(out, limitedRequest{proxy, prefix + ", " + client, want})
		}
		return out
	}
	seq := func(parts ...[]limitedRequest) []limitedRequest {
		var out []limitedRequest
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	r := func(peer, xff string, want int) []limitedRequest { return []limitedRequest{{peer, xff, want}} }
	tests := []struct {
		name     string
		proxies  []string
		requests []limitedRequest
	}{
		{"spoofed prefixes through a trusted proxy share one bucket", []string{"10.0.0.0/8"},
			spoofed("203.0.113.7", 5, 429)},
		{"two clients behind the proxy have their own buckets", []string{"10.0.0.0/8"}, seq(
			spoofed("203.0.113.7", 4, 429),
			r(proxy, "203.0.113.8", 401), r(proxy, "203.0.113.8", 401), r(proxy, "203.0.113.8", 401), r(proxy, "203.0.113.8", 429),
		)},
		{"the proxy itself (no header) is a third bucket", []string{"10.0.0.0/8"}, seq(
			spoofed("203.0.113.7", 4, 429),
			r(proxy, "", 401), r(proxy, "", 401), r(proxy, "", 401), r(proxy, "", 429),
		)},
		{"an untrusted peer's X-Forwarded-For is ignored", []string{"10.0.0.0/8"}, seq(
			r("192.0.2.50", "203.0.113.1", 401), r("192.0.2.50", "203.0.113.2", 401), r("192.0.2.50", "10.0.0.9", 401),
			r("192.0.2.50", "203.0.113.4", 429),
			// the addresses it claimed are untouched buckets
			r(proxy, "203.0.113.1", 401),
		)},
		{"no trusted proxies: the header is ignored", nil, seq(
			r(proxy, "203.0.113.1", 401), r(proxy, "203.0.113.2", 401), r(proxy, "203.0.113.3", 401), r(proxy, "203.0.113.4", 429),
		)},
		{"garbage headers fall back to the proxy's bucket", []string{"10.0.0.0/8"}, seq(
			r(proxy, "unknown", 401), r(proxy, "1.2.3.4.5", 401), r(proxy, "203.0.113.7, ,", 401), r(proxy, "", 429),
		)},
		{"IPv6 clients in one /64 share a bucket", []string{"10.0.0.0/8"}, seq(
			r(proxy, "2001:db8:0:1::1", 401), r(proxy, "2001:db8:0:1::2", 401), r(proxy, "2001:db8:0:1:ffff::3", 401),
			r(proxy, "[2001:db8:0:1::4]:4711", 429),
			r(proxy, "2001:db8:0:2::1", 401),
		)},
		{"an IPv4-mapped client is the IPv4 client", []string{"10.0.0.0/8"}, seq(
			r(proxy, "203.0.113.7", 401), r(proxy, "::ffff:203.0.113.7", 401), r("::ffff:10.0.0.1", "203.0.113.7", 401),
			r(proxy, "203.0.113.7:80", 429),
		)},
		{"an IPv6 proxy", []string{"fd00::/8"}, seq(
			r("fd00::1", "1.1.1.1, 2001:db8::1", 401), r("fd00::1", "2.2.2.2, 2001:db8::1", 401), r("fd00::2", "3.3.3.3, 2001:db8::1", 401),
			r("fd00::1", "4.4.4.4, 2001:db8::1", 429),
		)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t, func(e *testEnv) {
				e.cfg.UserSigRate, e.cfg.UserSigBurst = 3.0/60, 3
				e.cfg.TrustedProxies = mustPrefixes(t, tt.proxies...)
			})
			for i, rq := range tt.requests {
				var xff []string
				if rq.xff != "" {
					xff = []string{rq.xff}
				}
				// Unauthenticated UserSig requests and wrong admin keys draw on the same bucket.
				var got int
				if i%2 == 0 {
					got = env.doFrom(t, rq.peer, http.MethodPost, "/api/v1/usersig", "", "", xff...)
				} else {
					got = env.doFrom(t, rq.peer, http.MethodGet, "/api/v1/agents", "", bearer(fmt.Sprintf("guess-%d", i)), xff...)
				}
				if got != rq.want {
					t.Fatalf("request %d from %s, X-Forwarded-For %q: status %d, want %d", i, rq.peer, rq.xff, got, rq.want)
				}
			}
		})
	}
}

// TestRequestLogClientIP checks the request log names the client clientIP found, not the raw
// header.
func TestRequestLogClientIP(t *testing.T) {
	var buf bytes.Buffer
	env := newTestEnv(t, func(e *testEnv) { e.cfg.TrustedProxies = mustPrefixes(t, "10.0.0.0/8") })
	d := newTestDeps(env)
	d.Registry = prometheus.NewRegistry()
	d.Logger = slog.New(slog.NewJSONHandler(&buf, nil))
	app, err := newApp(d)
	if err != nil {
		t.Fatal(err)
	}
	env.app = app
	env.doFrom(t, "10.0.0.1", http.MethodPost, "/api/v1/usersig", "", "", "evil, 203.0.113.7")
	if !strings.Contains(buf.String(), `"ip":"203.0.113.7"`) || strings.Contains(buf.String(), "evil") {
		t.Errorf("request log does not carry the client address: %s", buf.String())
	}
}
