package main

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"sync"

	"github.com/gofiber/fiber/v2"

	chatpage "github.com/timdesk/timdesk/chat"
)

// Chat transports (TIMDESK_CHAT_TRANSPORT): the page talks to Tencent IM through the official Web
// SDK, or to the emulator's /sim/ client API (development and tests).
const (
	chatTransportSDK = "sdk"
	chatTransportSim = "sim"
)

// chatConfig is GET /chat/config.json: what the page needs besides the UserSig.
type chatConfig struct {
	Transport      string `json:"transport"`
	SDKAppID       uint64 `json:"sdkAppID"`
	ServiceAccount string `json:"serviceAccount"`
	SimURL         string `json:"simURL,omitempty"`
	// HostOrigins are the origins besides the page's own that may embed it and post it a JWT
	// (TIMDESK_CHAT_HOST_ORIGINS); never null.
	HostOrigins []string `json:"hostOrigins"`
}

// chatFrameAncestors is the page's Content-Security-Policy: only its own origin and the
// configured host origins may frame it, so a hostile site cannot embed it and post it the
// attacker's JWT (a login CSRF: the customer would chat inside the attacker's account).
func chatFrameAncestors(hostOrigins []string) string {
	return strings.Join(append([]string{"frame-ancestors", "'self'"}, hostOrigins...), " ")
}

// registerChatRoutes serves the customer chat page (chat/dist, embedded) at /chat/ and its
// configuration at /chat/config.json.
func (s *server) registerChatRoutes(app *fiber.App) error {
	assets, err := embeddedChatAssets()
	if err != nil {
		return fmt.Errorf("chat page: %w", err)
	}
	csp := chatFrameAncestors(s.cfg.ChatHostOrigins)
	hostOrigins := append([]string{}, s.cfg.ChatHostOrigins...)
	app.Get("/chat/config.json", func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderCacheControl, "no-cache")
		c.Set(fiber.HeaderContentSecurityPolicy, csp)
		c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
		cfg := chatConfig{Transport: s.cfg.ChatTransport, SDKAppID: s.cfg.SDKAppID, ServiceAccount: s.cfg.ServiceAccount, HostOrigins: hostOrigins}
		if cfg.Transport == "" {
			cfg.Transport = chatTransportSDK
		}
		if cfg.Transport == chatTransportSim {
			cfg.SimURL = s.cfg.ChatSimURL
		}
		return c.JSON(cfg)
	})
	app.Get("/chat/*", func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderContentSecurityPolicy, csp)
		c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
		c.Set(fiber.HeaderReferrerPolicy, "no-referrer")
		name := strings.TrimPrefix(path.Clean("/"+c.Params("*")), "/")
		if name == "" {
			if !strings.HasSuffix(c.Path(), "/") { // the page's relative URLs need /chat/
				return c.Redirect("/chat/", fiber.StatusMovedPermanently)
			}
			name = "index.html"
		}
		f, ok := assets[name]
		if !ok {
			return newError(codeNotFound, "no such file")
		}
		c.Type(path.Ext(name))
		// Revalidate every time (the file names carry no version, and a stale app.js must not
		// outlive a deploy); the ETag makes that a 304.
		c.Set(fiber.HeaderCacheControl, "no-cache")
		c.Set(fiber.HeaderETag, f.etag)
		c.Set(fiber.HeaderVary, fiber.HeaderAcceptEncoding)
		if c.Get(fiber.HeaderIfNoneMatch) == f.etag {
			return c.SendStatus(fiber.StatusNotModified)
		}
		if f.gzip != nil && strings.Contains(c.Get(fiber.HeaderAcceptEncoding), "gzip") {
			c.Set(fiber.HeaderContentEncoding, "gzip")
			return c.Send(f.gzip)
		}
		return c.Send(f.raw)
	})
	return nil
}

// chatAsset is one file of the page, with its ETag and (when it pays) a gzip copy.
type chatAsset struct {
	raw, gzip []byte
	etag      string
}

// embeddedChatAssets is the embedded page, read and compressed once per process (the files are
// compiled in, so every app the process builds — one in production, many in tests — shares them).
var embeddedChatAssets = sync.OnceValues(func() (map[string]chatAsset, error) {
	return loadChatAssets(chatpage.Files())
})

// loadChatAssets reads every file of the page.
func loadChatAssets(files fs.FS) (map[string]chatAsset, error) {
	out := map[string]chatAsset{}
	err := fs.WalkDir(files, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		raw, err := fs.ReadFile(files, name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(raw)
		a := chatAsset{raw: raw, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		if len(raw) > 1024 {
			var buf bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression) // the level is valid
			if _, err := zw.Write(raw); err != nil {
				return err
			}
			if err := zw.Close(); err != nil {
				return err
			}
			a.gzip = buf.Bytes()
		}
		out[name] = a
		return nil
	})
	if err != nil {
		return nil, err
	}
	if _, ok := out["index.html"]; !ok {
		return nil, errors.New("index.html is missing: build it with `make chat`")
	}
	return out, nil
}
