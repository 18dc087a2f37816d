package tim

import (
	"bytes"
	"compress/zlib"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"hash/adler32"
	"io"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/timdesk/timdesk/tim/userid"
)

// Sentinel errors of UserSig signing and verification; test with errors.Is.
var (
	// ErrExpired: now > TLS.time + TLS.expire (the boundary second is still valid).
	ErrExpired = errors.New("usersig expired")
	// ErrWrongApp: the token's TLS.sdkappid is not the signer's.
	ErrWrongApp = errors.New("usersig sdkappid mismatch")
	// ErrWrongIdentifier: the token's TLS.identifier is not the claimed user (case-sensitive).
	ErrWrongIdentifier = errors.New("usersig identifier mismatch")
	// ErrBadSignature: the HMAC does not match (wrong key or tampered fields).
	ErrBadSignature = errors.New("usersig signature mismatch")
	// ErrMalformed: not base64/zlib/JSON, a required field is missing or of the wrong type, the
	// token is too large, or it carries an unexpected userbuf.
	ErrMalformed = errors.New("malformed usersig")
	// ErrInvalidUserID: a UserID that is empty, longer than 32 bytes, not UTF-8, or has control
	// characters (userid.ErrInvalid).
	ErrInvalidUserID = userid.ErrInvalid
	// ErrInvalidExpiry: an expiry under one second or above MaxExpire.
	ErrInvalidExpiry = errors.New("invalid usersig expiry")
	// ErrNoSecretKey: Sign was called on a Signer without a secret key.
	ErrNoSecretKey = errors.New("no usersig secret key configured")
)

const (
	// MaxUserIDLen is the longest UserID Tencent accepts, in bytes (userid.MaxLen).
	MaxUserIDLen = userid.MaxLen
	// MaxExpire is the longest validity Sign accepts (about 68 years; int32 seconds).
	MaxExpire = math.MaxInt32 * time.Second
	// DefaultUserSigExpire is the official libraries' default validity (180 days).
	DefaultUserSigExpire = 180 * 24 * time.Hour

	maxTokenLen = 8 << 10 // encoded token bytes Verify looks at
	maxDocLen   = 8 << 10 // inflated JSON bytes
)

// tokenEncoding is Tencent's "base64url": the standard alphabet with + → *, / → -, = → _.
var tokenEncoding = base64.NewEncoding("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789*-").WithPadding('_')

// tokenEncodingRaw decodes tokens whose padding was stripped.
var tokenEncodingRaw = tokenEncoding.WithPadding(base64.NoPadding)

// ValidateUserID checks the UserID rules (userid.Validate): 1–32 bytes of UTF-8 without control
// characters. Errors wrap ErrInvalidUserID.
func ValidateUserID(id string) error { return userid.Validate(id) }

// Signer mints and verifies UserSig v2 tokens for one app. It is safe for concurrent use; set
// the exported fields before sharing it. String and GoString redact the key.
type Signer struct {
	// Now is the clock Sign and AdminSig use; nil means time.Now.
	Now func() time.Time
	// Level is the zlib level of new tokens. The zero value, zlib.NoCompression, is what
	// Tencent's Go library v1.4 emits and by far the fastest; any level verifies everywhere.
	Level int

	sdkAppID uint64
	key      []byte
	macs     sync.Pool // hash.Hash: HMAC-SHA256 keyed with key
}

// NewSigner returns a Signer for sdkAppID with the console secret key (used as-is, not
// hex-decoded).
func NewSigner(sdkAppID uint64, secretKey string) *Signer {
	s := &Signer{sdkAppID: sdkAppID, key: []byte(secretKey)}
	s.macs.New = func() any { return hmac.New(sha256.New, s.key) }
	return s
}

// SDKAppID returns the app id.
func (s *Signer) SDKAppID() uint64 { return s.sdkAppID }

// String describes the signer without its key.
func (s *Signer) String() string {
	return fmt.Sprintf("tim.Signer{SDKAppID:%d Key:[redacted]}", s.sdkAppID)
}

// GoString is String.
func (s *Signer) GoString() string { return s.String() }

func (s *Signer) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Sign mints a UserSig for userID valid for expire (whole seconds, 1 s … MaxExpire) from now.
func (s *Signer) Sign(userID string, expire time.Duration) (string, error) {
	return s.SignAt(userID, s.now(), expire)
}

// SignAt mints a UserSig issued at now (Unix seconds) valid for expire.
func (s *Signer) SignAt(userID string, now time.Time, expire time.Duration) (string, error) {
	return s.signAt(userID, now, expire, nil)
}

// SignWithUserBuf mints a token carrying userbuf (TRTC PrivateMapKey style). IM does not use it.
func (s *Signer) SignWithUserBuf(userID string, now time.Time, expire time.Duration, userBuf []byte) (string, error) {
	if userBuf == nil {
		userBuf = []byte{}
	}
	return s.signAt(userID, now, expire, userBuf)
}

func (s *Signer) signAt(userID string, now time.Time, expire time.Duration, userBuf []byte) (string, error) {
	if len(s.key) == 0 {
		return "", fmt.Errorf("sign usersig: %w", ErrNoSecretKey)
	}
	if err := ValidateUserID(userID); err != nil {
		return "", fmt.Errorf("sign usersig: %w", err)
	}
	if expire < time.Second || expire > MaxExpire {
		return "", fmt.Errorf("sign usersig: %w: %v", ErrInvalidExpiry, expire)
	}
	secs := int64(expire / time.Second)
	issued := now.Unix()
	ub := ""
	if userBuf != nil {
		ub = base64.StdEncoding.EncodeToString(userBuf)
	}

	var scratch [512]byte
	var mac [sha256.Size]byte
	s.mac(mac[:0], userID, issued, secs, ub, userBuf != nil)
	var sig [44]byte
	base64.StdEncoding.Encode(sig[:], mac[:])

	doc := scratch[:0]
	doc = append(doc, `{"TLS.ver":"2.0","TLS.identifier":`...)
	doc = appendJSONString(doc, userID)
	doc = append(doc, `,"TLS.sdkappid":`...)
	doc = strconv.AppendUint(doc, s.sdkAppID, 10)
	doc = append(doc, `,"TLS.expire":`...)
	doc = strconv.AppendInt(doc, secs, 10)
	doc = append(doc, `,"TLS.time":`...)
	doc = strconv.AppendInt(doc, issued, 10)
	if userBuf != nil {
		doc = append(doc, `,"TLS.userbuf":`...)
		doc = appendJSONString(doc, ub)
	}
	doc = append(doc, `,"TLS.sig":"`...)
	doc = append(doc, sig[:]...)
	doc = append(doc, `"}`...)

	var z []byte
	if s.Level == zlib.NoCompression {
		z = zlibStored(scratch[len(doc):len(doc)], doc)
	} else {
		var buf bytes.Buffer
		zw, err := zlib.NewWriterLevel(&buf, s.Level)
		if err != nil {
			return "", fmt.Errorf("sign usersig: %w", err)
		}
		_, _ = zw.Write(doc) // bytes.Buffer writes cannot fail
		if err := zw.Close(); err != nil {
			return "", fmt.Errorf("sign usersig: %w", err)
		}
		z = buf.Bytes()
	}
	return tokenEncoding.EncodeToString(z), nil
}

// mac appends HMAC-SHA256(key, content) over the §1.2 content lines.
func (s *Signer) mac(dst []byte, identifier string, issued, expire int64, userBuf string, withBuf bool) []byte {
	h := s.macs.Get().(hash.Hash)
	h.Reset()
	var line [160]byte
	b := append(line[:0], "TLS.identifier:"...)
	b = append(b, identifier...)
	b = append(b, "\nTLS.sdkappid:"...)
	b = strconv.AppendUint(b, s.sdkAppID, 10)
	b = append(b, "\nTLS.time:"...)
	b = strconv.AppendInt(b, issued, 10)
	b = append(b, "\nTLS.expire:"...)
	b = strconv.AppendInt(b, expire, 10)
	b = append(b, '\n')
	h.Write(b)
	if withBuf {
		h.Write([]byte("TLS.userbuf:"))
		h.Write([]byte(userBuf))
		h.Write([]byte{'\n'})
	}
	dst = h.Sum(dst)
	s.macs.Put(h)
	return dst
}

// zlibStored appends data to dst as a zlib stream (header 78 01) of stored deflate blocks.
func zlibStored(dst, data []byte) []byte {
	sum := adler32.Checksum(data)
	dst = append(dst, 0x78, 0x01)
	for {
		n := min(len(data), math.MaxUint16)
		final := byte(0)
		if n == len(data) {
			final = 1
		}
		dst = append(dst, final, byte(n), byte(n>>8), ^byte(n), ^byte(n>>8))
		dst = append(dst, data[:n]...)
		data = data[n:]
		if final == 1 {
			return binary.BigEndian.AppendUint32(dst, sum)
		}
	}
}

// appendJSONString appends s as a JSON string. s is valid UTF-8 (validated UserID or base64).
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c < 0x20:
			dst = append(dst, `\u00`...)
			dst = append(dst, "0123456789abcdef"[c>>4], "0123456789abcdef"[c&0xf])
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, '"')
}

// sigDoc is the decoded token JSON. Pointers tell missing fields apart.
type sigDoc struct {
	Ver        *string `json:"TLS.ver"`
	Identifier *string `json:"TLS.identifier"`
	SDKAppID   *uint64 `json:"TLS.sdkappid"`
	Expire     *int64  `json:"TLS.expire"`
	Time       *int64  `json:"TLS.time"`
	UserBuf    *string `json:"TLS.userbuf"`
	Sig        *string `json:"TLS.sig"`
}

var zlibReaders sync.Pool // io.ReadCloser implementing zlib.Resetter

// decodeToken reverses the base64 variant and zlib, and parses the JSON.
func decodeToken(token string) (sigDoc, error) {
	var doc sigDoc
	if token == "" {
		return doc, fmt.Errorf("%w: empty", ErrMalformed)
	}
	if len(token) > maxTokenLen {
		return doc, fmt.Errorf("%w: %d bytes", ErrMalformed, len(token))
	}
	trimmed := token
	for len(trimmed) > 0 && trimmed[len(trimmed)-1] == '_' {
		trimmed = trimmed[:len(trimmed)-1]
	}
	z := make([]byte, tokenEncodingRaw.DecodedLen(len(trimmed)))
	n, err := tokenEncodingRaw.Decode(z, []byte(trimmed))
	if err != nil {
		return doc, fmt.Errorf("%w: base64: %w", ErrMalformed, err)
	}
	z = z[:n]
	var zr io.ReadCloser
	if pooled, ok := zlibReaders.Get().(io.ReadCloser); ok {
		if err := pooled.(zlib.Resetter).Reset(bytes.NewReader(z), nil); err != nil {
			zlibReaders.Put(pooled)
			return doc, fmt.Errorf("%w: zlib: %w", ErrMalformed, err)
		}
		zr = pooled
	} else {
		zr, err = zlib.NewReader(bytes.NewReader(z))
		if err != nil {
			return doc, fmt.Errorf("%w: zlib: %w", ErrMalformed, err)
		}
	}
	js, err := io.ReadAll(io.LimitReader(zr, maxDocLen+1))
	zlibReaders.Put(zr)
	if err != nil {
		return doc, fmt.Errorf("%w: zlib: %w", ErrMalformed, err)
	}
	if len(js) > maxDocLen {
		return doc, fmt.Errorf("%w: document over %d bytes", ErrMalformed, maxDocLen)
	}
	if err := json.Unmarshal(js, &doc); err != nil {
		return doc, fmt.Errorf("%w: json: %w", ErrMalformed, err)
	}
	switch {
	case doc.Identifier == nil:
		return doc, fmt.Errorf("%w: no TLS.identifier", ErrMalformed)
	case doc.SDKAppID == nil:
		return doc, fmt.Errorf("%w: no TLS.sdkappid", ErrMalformed)
	case doc.Time == nil:
		return doc, fmt.Errorf("%w: no TLS.time", ErrMalformed)
	case doc.Expire == nil:
		return doc, fmt.Errorf("%w: no TLS.expire", ErrMalformed)
	case doc.Sig == nil:
		return doc, fmt.Errorf("%w: no TLS.sig", ErrMalformed)
	case doc.Ver != nil && *doc.Ver != "2.0":
		return doc, fmt.Errorf("%w: TLS.ver %q", ErrMalformed, *doc.Ver)
	}
	return doc, nil
}

// Verify checks that userSig is a valid, unexpired token of this app for userID at now. Errors
// wrap exactly one of ErrMalformed, ErrWrongApp, ErrWrongIdentifier, ErrBadSignature,
// ErrExpired (checked in that order) or ErrInvalidUserID. Any zlib level and JSON key order is
// accepted; the signature comparison is constant time. Tokens carrying a userbuf are rejected
// as ErrMalformed (see VerifyWithUserBuf).
func (s *Signer) Verify(userID, userSig string, now time.Time) error {
	_, err := s.verify(userID, userSig, now, false)
	return err
}

// VerifyWithUserBuf is Verify for tokens that must carry a userbuf, which it returns.
func (s *Signer) VerifyWithUserBuf(userID, userSig string, now time.Time) ([]byte, error) {
	return s.verify(userID, userSig, now, true)
}

func (s *Signer) verify(userID, userSig string, now time.Time, wantBuf bool) ([]byte, error) {
	if err := ValidateUserID(userID); err != nil {
		return nil, fmt.Errorf("verify usersig: %w", err)
	}
	doc, err := decodeToken(userSig)
	if err != nil {
		return nil, fmt.Errorf("verify usersig: %w", err)
	}
	var userBuf []byte
	switch {
	case wantBuf && doc.UserBuf == nil:
		return nil, fmt.Errorf("verify usersig: %w: no TLS.userbuf", ErrMalformed)
	case !wantBuf && doc.UserBuf != nil:
		return nil, fmt.Errorf("verify usersig: %w: unexpected TLS.userbuf", ErrMalformed)
	case wantBuf:
		if userBuf, err = base64.StdEncoding.DecodeString(*doc.UserBuf); err != nil {
			return nil, fmt.Errorf("verify usersig: %w: TLS.userbuf: %w", ErrMalformed, err)
		}
	}
	if *doc.SDKAppID != s.sdkAppID {
		return nil, fmt.Errorf("verify usersig: %w", ErrWrongApp)
	}
	if *doc.Identifier != userID {
		return nil, fmt.Errorf("verify usersig: %w", ErrWrongIdentifier)
	}
	var got [sha256.Size + 1]byte // DecodedLen(44) = 33
	if len(*doc.Sig) != 44 {
		return nil, fmt.Errorf("verify usersig: %w: TLS.sig is not a base64 SHA-256 MAC", ErrBadSignature)
	}
	n, err := base64.StdEncoding.Decode(got[:], []byte(*doc.Sig))
	if err != nil || n != sha256.Size {
		return nil, fmt.Errorf("verify usersig: %w: TLS.sig is not a base64 SHA-256 MAC", ErrBadSignature)
	}
	var want [sha256.Size]byte
	ub := ""
	if doc.UserBuf != nil {
		ub = *doc.UserBuf
	}
	s.mac(want[:0], *doc.Identifier, *doc.Time, *doc.Expire, ub, doc.UserBuf != nil)
	if !hmac.Equal(got[:n], want[:]) {
		return nil, fmt.Errorf("verify usersig: %w", ErrBadSignature)
	}
	issued, expire := *doc.Time, *doc.Expire
	if expire > 0 && issued > math.MaxInt64-expire {
		return userBuf, nil // expiry beyond the representable future
	}
	if now.Unix() > issued+expire {
		return nil, fmt.Errorf("verify usersig: %w", ErrExpired)
	}
	return userBuf, nil
}

// AdminSigTTL is the validity of the administrator UserSig an AdminSig mints; it is renewed
// once half of that has passed.
const AdminSigTTL = 48 * time.Hour

// AdminSig is a cached, self-renewing UserSig for the administrator account. Safe for
// concurrent use.
type AdminSig struct {
	signer *Signer
	admin  string

	mu      sync.Mutex
	sig     string
	renewAt time.Time
}

// AdminSig returns a cache of admin's UserSig (validity AdminSigTTL, renewed after half of it,
// or immediately when the clock goes backwards past the issue time).
func (s *Signer) AdminSig(admin string) *AdminSig {
	return &AdminSig{signer: s, admin: admin}
}

// Get returns the cached UserSig, minting a new one when there is none or it is due for renewal.
func (a *AdminSig) Get() (string, error) {
	now := a.signer.now()
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.sig != "" && now.Before(a.renewAt) && !now.Before(a.renewAt.Add(-AdminSigTTL/2)) {
		return a.sig, nil
	}
	sig, err := a.signer.SignAt(a.admin, now, AdminSigTTL)
	if err != nil {
		return "", fmt.Errorf("admin usersig: %w", err)
	}
	a.sig, a.renewAt = sig, now.Add(AdminSigTTL/2)
	return sig, nil
}

// Invalidate drops the cached UserSig so the next Get mints a fresh one.
func (a *AdminSig) Invalidate() {
	a.mu.Lock()
	a.sig = ""
	a.mu.Unlock()
}
