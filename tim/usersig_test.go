package tim

import (
	"bytes"
	"compress/zlib"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"
)

// Public sample key and app id of every official tls-sig-api-v2 repository (TENCENT_IM.md 1.8).
const (
	testKey   = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e"
	testAppID = 1400000000
)

// Full-token vectors of TENCENT_IM.md 1.8 (Python level 6 and npm tls-sig-api-v2@1.0.2 output).
var fullTokenVectors = []struct {
	name, identifier, token string
	time, expire            int64
}{
	{"row1 python level6", "0", "eJyrVgrxCdYrSy1SslIy0jNQ0gHzM1NS80oy0zLBwjDB4pTsxIKCzBQlK0MTAyiAyKRWFGQWpQLFTU1NjeCiJZm5YDEzS0tDAyOYaHFmOtBM54KsUqeUwGLLqPK8UndHryCL-Lx8-1RPy7Ty1AijMk9f30hLk0x-r3CvSFulWgAPYy*9", 1569910200, 15552000},
	{"row1 npm", "0", "eJyrVgrxCdYrSy1SslIy0jNQ0gHzM1NS80oy0zLBwjDB4pTsxIKCzBQlK0MTAyiAyJRk5qYqWRmamllaGhoYwURTKwoyi8DipqZGcLXFmelKVkrOBVmlTimBxZZR5Xml7o5eQRb5efn*qZ6WaeWpEUZlnr6*kZYmmf5e4V6Rtkq1AAXZL70_", 1569910200, 15552000},
	{"row3 npm", "administrator", "eJyrVgrxCdYrSy1SslIy0jNQ0gHzM1NS80oy0zLBwokpuZl5mcUlRYkl*UVQBcUp2YkFBZkpSlaGJgZQAJEpycxNVbIyNEcVTa0oyCxKVbKyMDOBCRVnpitZKVX6OKZql5uHh6aGlhYmhVlm6IdEmFuUGhnmh7hnamdaRhUYlhoHFORFmhnYKtUCAK0SM5I_", 1700000000, 86400},
	{"row4 npm", "user_01-abc", "eJyrVgrxCdYrSy1SslIy0jNQ0gHzM1NS80oy0zLBwqXFqUXxBoa6iUnJUOnilOzEgoLMFCUrQxMDKIDIlGTmpipZGZqjiqZWFGQWpSpZmRmYWMDEijPTlayUMs2LfCzSioMs-DKy9S2jCvzMyiJKg4oNKrVzSjMz8iILAkpNLEIqMiNdAm2VagHxfTMh", 1700000000, 604800},
}

func TestSigVectors(t *testing.T) {
	s := NewSigner(testAppID, testKey)
	tests := []struct {
		identifier    string
		time, expire  int64
		userBuf       string
		withBuf       bool
		wantSig       string
		wantSigBase64 string
	}{
		{identifier: "0", time: 1569910200, expire: 15552000, wantSig: "CpjuBdQs9ZwnuGAJR8onoOeI9fweX2vIMMY94iOJWJY="},
		{identifier: "0", time: 1569910200, expire: 15552000, userBuf: "abc", withBuf: true, wantSig: "bC3u5cuslSg8Ds7KY58mhSkTrxunrFu50dkdkCYH4i8="},
		{identifier: "administrator", time: 1700000000, expire: 86400, wantSig: "yLAe+w7WUeUuqbV9h/TX78u21oTGi+i9Zp1u3PpnY60="},
		{identifier: "user_01-abc", time: 1700000000, expire: 604800, wantSig: "i7rL8fsR8Nhk/9ZpN6vXuRs0y+luihnYpPu48TxiYDQ="},
	}
	for _, tt := range tests {
		t.Run(tt.identifier+"/"+tt.userBuf, func(t *testing.T) {
			ub := ""
			if tt.withBuf {
				ub = base64.StdEncoding.EncodeToString([]byte(tt.userBuf))
			}
			got := base64.StdEncoding.EncodeToString(s.mac(nil, tt.identifier, tt.time, tt.expire, ub, tt.withBuf))
			if got != tt.wantSig {
				t.Fatalf("TLS.sig: got %s, want %s", got, tt.wantSig)
			}
			// The same vector through the public API: sign, then verify (both must agree).
			now := time.Unix(tt.time, 0)
			expire := time.Duration(tt.expire) * time.Second
			var token string
			var err error
			if tt.withBuf {
				token, err = s.SignWithUserBuf(tt.identifier, now, expire, []byte(tt.userBuf))
			} else {
				token, err = s.SignAt(tt.identifier, now, expire)
			}
			if err != nil {
				t.Fatal(err)
			}
			doc, err := decodeToken(token)
			if err != nil {
				t.Fatal(err)
			}
			if *doc.Sig != tt.wantSig {
				t.Errorf("token TLS.sig: got %s, want %s", *doc.Sig, tt.wantSig)
			}
			if tt.withBuf {
				buf, err := s.VerifyWithUserBuf(tt.identifier, token, now.Add(time.Minute))
				if err != nil || string(buf) != tt.userBuf {
					t.Errorf("VerifyWithUserBuf: got %q, %v", buf, err)
				}
				if err := s.Verify(tt.identifier, token, now); !errors.Is(err, ErrMalformed) {
					t.Errorf("Verify of a userbuf token: got %v, want ErrMalformed", err)
				}
			} else if err := s.Verify(tt.identifier, token, now.Add(time.Minute)); err != nil {
				t.Errorf("Verify: %v", err)
			}
		})
	}
}

func TestFullTokenVectors(t *testing.T) {
	s := NewSigner(testAppID, testKey)
	for _, v := range fullTokenVectors {
		t.Run(v.name, func(t *testing.T) {
			issued := time.Unix(v.time, 0)
			if err := s.Verify(v.identifier, v.token, issued.Add(time.Minute)); err != nil {
				t.Fatalf("at time+60: %v", err)
			}
			if err := s.Verify(v.identifier, v.token, issued.Add(time.Duration(v.expire)*time.Second)); err != nil {
				t.Errorf("at time+expire (boundary second is valid): %v", err)
			}
			if err := s.Verify(v.identifier, v.token, issued.Add(time.Duration(v.expire+1)*time.Second)); !errors.Is(err, ErrExpired) {
				t.Errorf("at time+expire+1: got %v, want ErrExpired", err)
			}
			if err := NewSigner(testAppID+1, testKey).Verify(v.identifier, v.token, issued); !errors.Is(err, ErrWrongApp) {
				t.Errorf("other app: got %v, want ErrWrongApp", err)
			}
			if err := s.Verify(strings.ToUpper(v.identifier)+"X", v.token, issued); !errors.Is(err, ErrWrongIdentifier) {
				t.Errorf("other identifier: got %v, want ErrWrongIdentifier", err)
			}
			if err := NewSigner(testAppID, strings.Repeat("0", 64)).Verify(v.identifier, v.token, issued); !errors.Is(err, ErrBadSignature) {
				t.Errorf("other key: got %v, want ErrBadSignature", err)
			}
		})
	}
	if err := s.Verify("Administrator", fullTokenVectors[2].token, time.Unix(1700000060, 0)); !errors.Is(err, ErrWrongIdentifier) {
		t.Errorf("UserID is case-sensitive: got %v, want ErrWrongIdentifier", err)
	}
}

// encodeToken compresses doc at level and applies Tencent's base64 variant.
func encodeToken(t testing.TB, doc string, level int) string {
	t.Helper()
	var buf bytes.Buffer
	zw, err := zlib.NewWriterLevel(&buf, level)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := zw.Write([]byte(doc)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return tokenEncoding.EncodeToString(buf.Bytes())
}

// docSig is the base64 HMAC over the §1.2 lines for the test key and app.
func docSig(identifier string, issued, expire int64) string {
	m := hmac.New(sha256.New, []byte(testKey))
	_, _ = fmt.Fprintf(m, "TLS.identifier:%s\nTLS.sdkappid:%d\nTLS.time:%d\nTLS.expire:%d\n", identifier, testAppID, issued, expire)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func TestVerifyLevelsAndKeyOrders(t *testing.T) {
	s := NewSigner(testAppID, testKey)
	const id, issued, expire = "alice", 1700000000, 3600
	sig := docSig(id, issued, expire)
	docs := map[string]string{
		"python order":    fmt.Sprintf(`{"TLS.ver":"2.0","TLS.identifier":%q,"TLS.sdkappid":%d,"TLS.expire":%d,"TLS.time":%d,"TLS.sig":%q}`, id, testAppID, expire, issued, sig),
		"node order":      fmt.Sprintf(`{"TLS.ver":"2.0","TLS.identifier":%q,"TLS.sdkappid":%d,"TLS.time":%d,"TLS.expire":%d,"TLS.sig":%q}`, id, testAppID, issued, expire, sig),
		"go v1.4 (\\n)":   fmt.Sprintf(`{"TLS.ver":"2.0","TLS.identifier":%q,"TLS.sdkappid":%d,"TLS.expire":%d,"TLS.time":%d,"TLS.sig":%q}`+"\n", id, testAppID, expire, issued, sig),
		"spaces, sig 1st": fmt.Sprintf(`{ "TLS.sig" : %q , "TLS.time":%d, "TLS.expire":%d, "TLS.sdkappid":%d, "TLS.identifier":%q, "TLS.ver":"2.0" }`, sig, issued, expire, testAppID, id),
		"no ver":          fmt.Sprintf(`{"TLS.identifier":%q,"TLS.sdkappid":%d,"TLS.expire":%d,"TLS.time":%d,"TLS.sig":%q}`, id, testAppID, expire, issued, sig),
	}
	levels := []int{zlib.HuffmanOnly, zlib.DefaultCompression, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	for name, doc := range docs {
		for _, level := range levels {
			t.Run(fmt.Sprintf("%s/level%d", name, level), func(t *testing.T) {
				if err := s.Verify(id, encodeToken(t, doc, level), time.Unix(issued+10, 0)); err != nil {
					t.Fatal(err)
				}
			})
		}
	}
}

func TestSignAllLevels(t *testing.T) {
	now := time.Unix(1700000000, 0)
	for _, level := range []int{zlib.HuffmanOnly, zlib.DefaultCompression, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9} {
		t.Run(fmt.Sprint(level), func(t *testing.T) {
			s := NewSigner(testAppID, testKey)
			s.Level = level
			token, err := s.SignAt("bob", now, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Verify("bob", token, now); err != nil {
				t.Fatal(err)
			}
			if level == 0 && !strings.HasPrefix(token, "eAE") {
				t.Errorf("level 0 token %q does not start with eAE", token[:8])
			}
		})
	}
	if _, err := NewSigner(testAppID, "").SignAt("bob", now, time.Hour); !errors.Is(err, ErrNoSecretKey) {
		t.Errorf("no key: got %v, want ErrNoSecretKey", err)
	}
	s := NewSigner(testAppID, testKey)
	s.Level = 42
	if _, err := s.SignAt("bob", now, time.Hour); err == nil {
		t.Error("level 42: got nil error")
	}
}

func TestSignStdlibReadable(t *testing.T) {
	// A level-0 token decodes with the standard library alone (no help from decodeToken).
	s := NewSigner(testAppID, testKey)
	token, err := s.SignAt(`we"ird\id`, time.Unix(1700000000, 0), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.StdEncoding.DecodeString(strings.NewReplacer("*", "+", "-", "/", "_", "=").Replace(token))
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zlib.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	js, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"TLS.ver":"2.0","TLS.identifier":"we\"ird\\id","TLS.sdkappid":1400000000,"TLS.expire":3600,"TLS.time":1700000000,"TLS.sig":"` + docSig(`we"ird\id`, 1700000000, 3600) + `"}`
	if string(js) != want {
		t.Errorf("got  %s\nwant %s", js, want)
	}
}

func TestZlibStoredLarge(t *testing.T) {
	for _, n := range []int{0, 1, 65535, 65536, 200000} {
		data := bytes.Repeat([]byte("0123456789abcdef"), n/16+1)[:n]
		zr, err := zlib.NewReader(bytes.NewReader(zlibStored(nil, data)))
		if err != nil {
			t.Fatalf("%d: %v", n, err)
		}
		got, err := io.ReadAll(zr)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("%d: round trip failed: %v", n, err)
		}
	}
}

func TestVerifyErrors(t *testing.T) {
	s := NewSigner(testAppID, testKey)
	now := time.Unix(1700000000, 0)
	good, err := s.SignAt("alice", now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	sig := docSig("alice", 1700000000, 3600)
	doc := func(format string, args ...any) string { return encodeToken(t, fmt.Sprintf(format, args...), 6) }
	corruptZ := func() string {
		raw, _ := tokenEncoding.DecodeString(good)
		raw[len(raw)-1] ^= 0xff // Adler-32
		return tokenEncoding.EncodeToString(raw)
	}()
	tests := []struct {
		name, userID, token string
		now                 time.Time
		want                error
	}{
		{"ok", "alice", good, now, nil},
		{"ok without padding", "alice", strings.TrimRight(good, "_"), now, nil},
		{"expired", "alice", good, now.Add(time.Hour + time.Second), ErrExpired},
		{"boundary", "alice", good, now.Add(time.Hour), nil},
		{"wrong identifier", "bob", good, now, ErrWrongIdentifier},
		{"empty user", "", good, now, ErrInvalidUserID},
		{"long user", strings.Repeat("a", 33), good, now, ErrInvalidUserID},
		{"empty token", "alice", "", now, ErrMalformed},
		{"bad base64", "alice", "eJ!!!!", now, ErrMalformed},
		{"rfc base64url", "alice", strings.NewReplacer("*", "-", "-", "_").Replace(good) + "=", now, ErrMalformed},
		{"not zlib", "alice", tokenEncoding.EncodeToString([]byte("hello world")), now, ErrMalformed},
		{"truncated zlib", "alice", tokenEncoding.EncodeToString([]byte{0x78, 0x9c, 0xab}), now, ErrMalformed},
		{"bad adler32", "alice", corruptZ, now, ErrMalformed},
		{"huge token", "alice", strings.Repeat("A", maxTokenLen+4), now, ErrMalformed},
		{"zip bomb", "alice", encodeToken(t, `{"TLS.identifier":"`+strings.Repeat("a", 100000)+`"}`, 9), now, ErrMalformed},
		{"bad json", "alice", doc(`{"TLS.identifier":`), now, ErrMalformed},
		{"json array", "alice", doc(`[1,2]`), now, ErrMalformed},
		{"json null", "alice", doc(`null`), now, ErrMalformed},
		{"sdkappid as string", "alice", doc(`{"TLS.identifier":"alice","TLS.sdkappid":"1400000000","TLS.expire":3600,"TLS.time":1700000000,"TLS.sig":%q}`, sig), now, ErrMalformed},
		{"no identifier", "alice", doc(`{"TLS.sdkappid":1400000000,"TLS.expire":3600,"TLS.time":1700000000,"TLS.sig":%q}`, sig), now, ErrMalformed},
		{"no sdkappid", "alice", doc(`{"TLS.identifier":"alice","TLS.expire":3600,"TLS.time":1700000000,"TLS.sig":%q}`, sig), now, ErrMalformed},
		{"no expire", "alice", doc(`{"TLS.identifier":"alice","TLS.sdkappid":1400000000,"TLS.time":1700000000,"TLS.sig":%q}`, sig), now, ErrMalformed},
		{"no time", "alice", doc(`{"TLS.identifier":"alice","TLS.sdkappid":1400000000,"TLS.expire":3600,"TLS.sig":%q}`, sig), now, ErrMalformed},
		{"no sig", "alice", doc(`{"TLS.identifier":"alice","TLS.sdkappid":1400000000,"TLS.expire":3600,"TLS.time":1700000000}`), now, ErrMalformed},
		{"ver 1.0", "alice", doc(`{"TLS.ver":"1.0","TLS.identifier":"alice","TLS.sdkappid":1400000000,"TLS.expire":3600,"TLS.time":1700000000,"TLS.sig":%q}`, sig), now, ErrMalformed},
		{"unexpected userbuf", "alice", doc(`{"TLS.identifier":"alice","TLS.sdkappid":1400000000,"TLS.expire":3600,"TLS.time":1700000000,"TLS.userbuf":"YWJj","TLS.sig":%q}`, sig), now, ErrMalformed},
		{"wrong app", "alice", doc(`{"TLS.identifier":"alice","TLS.sdkappid":1400000001,"TLS.expire":3600,"TLS.time":1700000000,"TLS.sig":%q}`, sig), now, ErrWrongApp},
		{"tampered expire", "alice", doc(`{"TLS.identifier":"alice","TLS.sdkappid":1400000000,"TLS.expire":7200,"TLS.time":1700000000,"TLS.sig":%q}`, sig), now, ErrBadSignature},
		{"tampered time", "alice", doc(`{"TLS.identifier":"alice","TLS.sdkappid":1400000000,"TLS.expire":3600,"TLS.time":1700000001,"TLS.sig":%q}`, sig), now, ErrBadSignature},
		{"sig not base64", "alice", doc(`{"TLS.identifier":"alice","TLS.sdkappid":1400000000,"TLS.expire":3600,"TLS.time":1700000000,"TLS.sig":"%%%%"}`), now, ErrBadSignature},
		{"sig short", "alice", doc(`{"TLS.identifier":"alice","TLS.sdkappid":1400000000,"TLS.expire":3600,"TLS.time":1700000000,"TLS.sig":"YWJj"}`), now, ErrBadSignature},
		{"sig too long", "alice", doc(`{"TLS.identifier":"alice","TLS.sdkappid":1400000000,"TLS.expire":3600,"TLS.time":1700000000,"TLS.sig":%q}`, sig+"AAAA"), now, ErrBadSignature},
		{"sig 48 chars unpadded", "alice", doc(`{"TLS.identifier":"alice","TLS.sdkappid":1400000000,"TLS.expire":3600,"TLS.time":1700000000,"TLS.sig":%q}`, strings.Repeat("A", 48)), now, ErrBadSignature},
		{"sig 4096 chars", "alice", doc(`{"TLS.identifier":"alice","TLS.sdkappid":1400000000,"TLS.expire":3600,"TLS.time":1700000000,"TLS.sig":%q}`, strings.Repeat("A", 4096)), now, ErrBadSignature},
		{"sig 44 chars of 33 bytes", "alice", doc(`{"TLS.identifier":"alice","TLS.sdkappid":1400000000,"TLS.expire":3600,"TLS.time":1700000000,"TLS.sig":%q}`, strings.Repeat("A", 44)), now, ErrBadSignature},
		{"sig url alphabet", "alice", doc(`{"TLS.identifier":"alice","TLS.sdkappid":1400000000,"TLS.expire":3600,"TLS.time":1700000000,"TLS.sig":%q}`, strings.NewReplacer("+", "-", "/", "_").Replace(sig)), now, ErrBadSignature},
	}
	sentinels := []error{ErrExpired, ErrWrongApp, ErrWrongIdentifier, ErrBadSignature, ErrMalformed, ErrInvalidUserID}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.Verify(tt.userID, tt.token, tt.now)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("got %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			for _, other := range sentinels {
				if !errors.Is(other, tt.want) && errors.Is(err, other) {
					t.Errorf("error %v also matches %v", err, other)
				}
			}
			if strings.Contains(err.Error(), testKey) {
				t.Error("error text contains the key")
			}
		})
	}
}

func TestSignErrors(t *testing.T) {
	s := NewSigner(testAppID, testKey)
	now := time.Unix(1700000000, 0)
	tests := []struct {
		name   string
		userID string
		expire time.Duration
		want   error
	}{
		{"ok", "alice", time.Second, nil},
		{"max expire", "alice", MaxExpire, nil},
		{"sub-second rounds down", "alice", 1500 * time.Millisecond, nil},
		{"zero expire", "alice", 0, ErrInvalidExpiry},
		{"negative expire", "alice", -time.Hour, ErrInvalidExpiry},
		{"half second", "alice", 500 * time.Millisecond, ErrInvalidExpiry},
		{"too long", "alice", MaxExpire + time.Second, ErrInvalidExpiry},
		{"empty user", "", time.Hour, ErrInvalidUserID},
		{"33 bytes", strings.Repeat("x", 33), time.Hour, ErrInvalidUserID},
		{"32 bytes", strings.Repeat("x", 32), time.Hour, nil},
		{"newline", "a\nb", time.Hour, ErrInvalidUserID},
		{"nul", "a\x00b", time.Hour, ErrInvalidUserID},
		{"bad utf8", "a\xffb", time.Hour, ErrInvalidUserID},
		{"unicode", "用户_1", time.Hour, nil},
		{"quotes", `a"b\c`, time.Hour, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token, err := s.SignAt(tt.userID, now, tt.expire)
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			if err == nil {
				if err := s.Verify(tt.userID, token, now.Add(tt.expire)); err != nil {
					t.Errorf("verify at expiry: %v", err)
				}
			}
		})
	}
}

func TestSignUsesClock(t *testing.T) {
	s := NewSigner(testAppID, testKey)
	s.Now = func() time.Time { return time.Unix(1700000000, 999e6) }
	token, err := s.Sign("alice", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := decodeToken(token)
	if err != nil {
		t.Fatal(err)
	}
	if *doc.Time != 1700000000 || *doc.Expire != 60 || *doc.SDKAppID != testAppID || *doc.Identifier != "alice" {
		t.Errorf("doc: time %d expire %d app %d id %q", *doc.Time, *doc.Expire, *doc.SDKAppID, *doc.Identifier)
	}
	if s.SDKAppID() != testAppID {
		t.Errorf("SDKAppID: %d", s.SDKAppID())
	}
}

func TestSignerRedacts(t *testing.T) {
	s := NewSigner(testAppID, testKey)
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		if out := fmt.Sprintf(format, s); strings.Contains(out, testKey) || strings.Contains(out, "5bd2") {
			t.Errorf("%s leaks the key: %s", format, out)
		}
	}
}

func TestAdminSig(t *testing.T) {
	s := NewSigner(testAppID, testKey)
	now := time.Unix(1700000000, 0)
	var mu sync.Mutex
	s.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	set := func(t time.Time) { mu.Lock(); now = t; mu.Unlock() }
	a := s.AdminSig("administrator")
	first, err := a.Get()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Verify("administrator", first, now.Add(AdminSigTTL)); err != nil {
		t.Fatalf("admin sig valid for AdminSigTTL: %v", err)
	}
	set(now.Add(time.Hour))
	if again, _ := a.Get(); again != first {
		t.Error("cached sig not reused an hour later")
	}
	set(time.Unix(1700000000, 0).Add(AdminSigTTL / 2))
	renewed, _ := a.Get()
	if renewed == first {
		t.Error("not renewed at half of the TTL")
	}
	if err := s.Verify("administrator", renewed, time.Unix(1700000000, 0).Add(AdminSigTTL/2+AdminSigTTL)); err != nil {
		t.Errorf("renewed sig: %v", err)
	}
	a.Invalidate()
	set(now.Add(time.Second))
	if fresh, _ := a.Get(); fresh == renewed {
		t.Error("Invalidate did not force a new sig")
	}
	set(time.Unix(1600000000, 0)) // clock jumped back before the issue time
	back, _ := a.Get()
	if err := s.Verify("administrator", back, time.Unix(1600000000, 0)); err != nil {
		t.Errorf("after clock went back: %v", err)
	}
	if _, err := s.AdminSig("").Get(); !errors.Is(err, ErrInvalidUserID) {
		t.Errorf("empty admin: got %v", err)
	}
	// Concurrent use (run with -race).
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				if _, err := a.Get(); err != nil {
					t.Error(err)
				}
				a.Invalidate()
			}
		})
	}
	wg.Wait()
}

func BenchmarkSign(b *testing.B) {
	s := NewSigner(testAppID, testKey)
	now := time.Unix(1700000000, 0)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.SignAt("user_01-abc", now, DefaultUserSigExpire); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSignParallel(b *testing.B) {
	s := NewSigner(testAppID, testKey)
	now := time.Unix(1700000000, 0)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.SignAt("user_01-abc", now, DefaultUserSigExpire); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkVerify(b *testing.B) {
	s := NewSigner(testAppID, testKey)
	now := time.Unix(1700000000, 0)
	token, err := s.SignAt("user_01-abc", now, DefaultUserSigExpire)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Verify("user_01-abc", token, now); err != nil {
			b.Fatal(err)
		}
	}
}
