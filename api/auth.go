package main

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/golang-jwt/jwt/v5"

	"github.com/timdesk/timdesk/tim"
)

// bearerToken returns the token of an "Authorization: Bearer <token>" header.
func bearerToken(c *fiber.Ctx) (string, bool) {
	h := strings.TrimSpace(c.Get(fiber.HeaderAuthorization))
	scheme, token, found := strings.Cut(h, " ")
	if !found || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// isAdminKey compares token with the admin API key in constant time (hashing first hides the
// length too).
func (s *server) isAdminKey(token string) bool {
	if s.cfg.AdminAPIKey == "" {
		return false
	}
	a := sha256.Sum256([]byte(token))
	b := sha256.Sum256([]byte(s.cfg.AdminAPIKey))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

// adminAuth guards the admin API: "Authorization: Bearer <TIMDESK_ADMIN_API_KEY>". Failed
// attempts draw on the caller's per-IP bucket (TIMDESK_USERSIG_RATE), which slows key guessing.
func (s *server) adminAuth(c *fiber.Ctx) error {
	token, ok := bearerToken(c)
	if ok && s.isAdminKey(token) {
		return c.Next()
	}
	if allowed, wait := s.limiter.allow(s.clientIP(c)); !allowed {
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		return newError(codeRateLimited, "too many failed attempts; retry later")
	}
	if !ok {
		return newError(codeUnauthorized, "admin API key required (Authorization: Bearer <key>)")
	}
	return newError(codeUnauthorized, "wrong admin API key")
}

// jwtVerifier checks the business's end-user tokens: HS256 only, exp required, nbf and iat
// honoured, iss and aud checked when configured, sub = userID; and reads the agent claim
// (TIMDESK_AUTH_JWT_AGENT_CLAIM) when one is configured.
type jwtVerifier struct {
	secret     []byte
	parser     *jwt.Parser
	agentClaim string
	agentValue string
}

// jwtLeeway tolerates small clock differences with the token issuer.
const jwtLeeway = 30 * time.Second

func newJWTVerifier(cfg Config, now func() time.Time) *jwtVerifier {
	opts := []jwt.ParserOption{
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(jwtLeeway),
		jwt.WithTimeFunc(now),
	}
	if cfg.JWTIssuer != "" {
		opts = append(opts, jwt.WithIssuer(cfg.JWTIssuer))
	}
	if cfg.JWTAudience != "" {
		opts = append(opts, jwt.WithAudience(cfg.JWTAudience))
	}
	return &jwtVerifier{secret: []byte(cfg.JWTSecret), parser: jwt.NewParser(opts...),
		agentClaim: cfg.JWTAgentClaim, agentValue: cfg.JWTAgentValue}
}

// errNoJWTSecret means JWT authentication is not configured.
var errNoJWTSecret = errors.New("jwt secret not configured")

// jwtIdentity is what a verified token says about its holder.
type jwtIdentity struct {
	Subject string // sub, a valid Tencent UserID
	Agent   bool   // the token carries the configured agent claim (staff of the desk)
}

// tokenClaims are the registered claims plus the raw value of every other claim.
type tokenClaims struct {
	jwt.RegisteredClaims
	others map[string]json.RawMessage
}

func (c *tokenClaims) UnmarshalJSON(b []byte) error {
	if err := json.Unmarshal(b, &c.RegisteredClaims); err != nil {
		return err
	}
	return json.Unmarshal(b, &c.others)
}

// verify checks token and returns who it speaks for.
func (v *jwtVerifier) verify(token string) (jwtIdentity, error) {
	if len(v.secret) == 0 {
		return jwtIdentity{}, errNoJWTSecret
	}
	if len(token) > 8<<10 {
		return jwtIdentity{}, errors.New("jwt too long")
	}
	var claims tokenClaims
	_, err := v.parser.ParseWithClaims(token, &claims, func(t *jwt.Token) (any, error) {
		if _, ok := t.Method.(*jwt.SigningMethodHMAC); !ok {
			return nil, fmt.Errorf("unexpected signing method %q", t.Method.Alg())
		}
		return v.secret, nil
	})
	if err != nil {
		return jwtIdentity{}, fmt.Errorf("parse jwt: %w", err)
	}
	if err := tim.ValidateUserID(claims.Subject); err != nil {
		return jwtIdentity{}, fmt.Errorf("jwt subject: %w", err)
	}
	return jwtIdentity{Subject: claims.Subject, Agent: v.isAgent(claims.others[v.agentClaim])}, nil
}

// isAgent reports whether the agent claim's raw value marks staff: the configured value as a
// string, or an array of strings holding it. Anything else (absent, a number, an object) does not.
func (v *jwtVerifier) isAgent(raw json.RawMessage) bool {
	if v.agentClaim == "" || len(raw) == 0 {
		return false
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return one == v.agentValue
	}
	var many []string
	if json.Unmarshal(raw, &many) == nil {
		return slices.Contains(many, v.agentValue)
	}
	return false
}

// ipLimiter is a token bucket per client address (limitKey: an IPv4 address or an IPv6 /64).
type ipLimiter struct {
	rate  float64 // tokens per second; 0 = unlimited
	burst float64
	now   func() time.Time

	mu      sync.Mutex
	buckets map[netip.Addr]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

// maxLimiterEntries bounds the limiter's memory; full buckets are pruned first.
const maxLimiterEntries = 100_000

func newIPLimiter(perSecond float64, burst int, now func() time.Time) *ipLimiter {
	return &ipLimiter{rate: perSecond, burst: float64(max(burst, 1)), now: now, buckets: map[netip.Addr]*bucket{}}
}

// allow takes one token from client's bucket; when none is left it returns how long until one is.
func (l *ipLimiter) allow(client netip.Addr) (bool, time.Duration) {
	if l.rate <= 0 {
		return true, 0
	}
	ip := limitKey(client)
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b, ok := l.buckets[ip]
	if !ok {
		if len(l.buckets) >= maxLimiterEntries {
			l.prune(now)
		}
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[ip] = b
	}
	if elapsed := now.Sub(b.last).Seconds(); elapsed > 0 {
		b.tokens = math.Min(l.burst, b.tokens+elapsed*l.rate)
	}
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	wait := time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
	return false, wait
}

func (l *ipLimiter) prune(now time.Time) {
	for ip, b := range l.buckets {
		if b.tokens+now.Sub(b.last).Seconds()*l.rate >= l.burst {
			delete(l.buckets, ip)
		}
	}
	if len(l.buckets) >= maxLimiterEntries { // everyone is busy: start over rather than grow
		l.buckets = map[netip.Addr]*bucket{}
	}
}
