package main

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// parseTrustedProxies reads TIMDESK_TRUSTED_PROXIES entries: IP addresses or CIDR prefixes.
// IPv4-mapped IPv6 forms become IPv4, so they match what clientAddr compares them with.
func parseTrustedProxies(entries []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(entries))
	for _, e := range entries {
		p, err := parseTrustedProxy(e)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q: %w", e, err)
		}
		out = append(out, p)
	}
	return out, nil
}

// parseTrustedProxy reads one address (a single-address prefix) or CIDR prefix.
func parseTrustedProxy(e string) (netip.Prefix, error) {
	if !strings.Contains(e, "/") {
		a, err := netip.ParseAddr(e)
		if err != nil {
			return netip.Prefix{}, err
		}
		a = a.WithZone("").Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(e)
	if err != nil {
		return netip.Prefix{}, err
	}
	if a := p.Addr(); a.Is4In6() {
		if p.Bits() < 96 {
			return netip.Prefix{}, errors.New("an IPv4-mapped prefix needs at least 96 bits")
		}
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}

// trusted reports whether a is inside one of prefixes.
func trusted(prefixes []netip.Prefix, a netip.Addr) bool {
	for _, p := range prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// parseForwardedAddr reads one X-Forwarded-For entry: an IP address, optionally with a port
// ("203.0.113.7:4711", "[2001:db8::1]:4711") or an IPv6 zone, which are dropped.
func parseForwardedAddr(s []byte) (netip.Addr, bool) {
	s = bytes.TrimSpace(s)
	if len(s) == 0 || len(s) > 64 {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(string(s))
	if err != nil {
		ap, perr := netip.ParseAddrPort(string(s))
		if perr != nil {
			return netip.Addr{}, false
		}
		a = ap.Addr()
	}
	return a.WithZone("").Unmap(), true
}

// clientAddr is the address of the client behind a request that arrived from peer carrying the
// X-Forwarded-For header values xff (in the order received; several headers count as one list).
//
// Only a trusted peer's header is read, from the right: every entry was appended by the hop to its
// right, so an entry is believed as long as that hop is trusted. The answer is the rightmost entry
// outside the trusted prefixes — what the outermost trusted proxy saw connecting to it; anything
// a client wrote further left (spoofed prefixes) is never reached. When the walk meets an entry
// that is not an IP address, or every entry is trusted, the answer is the leftmost trusted hop
// reached (the peer itself when the header is absent or its rightmost entry is garbage).
func clientAddr(peer netip.Addr, xff [][]byte, proxies []netip.Prefix) netip.Addr {
	peer = peer.WithZone("").Unmap()
	if !trusted(proxies, peer) {
		return peer
	}
	addr := peer
	for i := len(xff) - 1; i >= 0; i-- {
		h := xff[i]
		for {
			entry := h
			comma := bytes.LastIndexByte(h, ',')
			if comma >= 0 {
				entry, h = h[comma+1:], h[:comma]
			}
			a, ok := parseForwardedAddr(entry)
			if !ok {
				return addr
			}
			if !trusted(proxies, a) {
				return a
			}
			addr = a
			if comma < 0 {
				break
			}
		}
	}
	return addr
}

// clientIP is the request's client address (clientAddr with TIMDESK_TRUSTED_PROXIES): the one
// source of it for the rate limiters and the request log. Fiber's c.IP() is not used: behind a
// trusted proxy it returns the raw X-Forwarded-For value, which the client controls.
func (s *server) clientIP(c *fiber.Ctx) netip.Addr {
	peer, _ := netip.AddrFromSlice(c.Context().RemoteIP())
	if len(s.cfg.TrustedProxies) == 0 {
		return peer.WithZone("").Unmap()
	}
	return clientAddr(peer, c.Context().Request.Header.PeekAll(fiber.HeaderXForwardedFor), s.cfg.TrustedProxies)
}

// ipv6LimitBits is the prefix an IPv6 client is rate limited by: a /64 is what one subscriber or
// host is usually given, and a host can pick any address in it.
const ipv6LimitBits = 64

// limitKey is the rate-limiter bucket of client address a: the IPv4 address itself, or the /64
// an IPv6 address is in.
func limitKey(a netip.Addr) netip.Addr {
	a = a.WithZone("").Unmap()
	if a.Is6() {
		if p, err := a.Prefix(ipv6LimitBits); err == nil {
			return p.Addr()
		}
	}
	return a
}
