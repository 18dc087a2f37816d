package main

import (
	"strconv"
	"testing"
	"time"
)

// TestSignalledCacheBounds: the replica's memory of signalled MsgKeys (server.signalled) stays at
// signalledCacheSize entries however many messages pass — the least recently used go first — and
// forgets a key signalledCacheTTL after it was stored, so its memory is bounded in size and time.
func TestSignalledCacheBounds(t *testing.T) {
	if signalledCacheSize != 10_000 || signalledCacheTTL != 10*time.Minute {
		t.Fatalf("bounds %d / %s, documented as 10,000 / 10 minutes (api/signalid.go, README)", signalledCacheSize, signalledCacheTTL)
	}
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	c := newLRU[string, struct{}](signalledCacheSize, signalledCacheTTL, func() time.Time { return now })
	key := func(i int) string { return strconv.Itoa(i) + "_1_1764936000" }

	t.Run("size", func(t *testing.T) {
		c.Put(key(0), struct{}{})
		for i := 1; i < 3*signalledCacheSize; i++ {
			c.Put(key(i), struct{}{})
			if i == signalledCacheSize/2 {
				c.Get(key(0)) // used recently: outlives the keys stored after it
			}
		}
		if n := c.Len(); n != signalledCacheSize {
			t.Fatalf("%d entries after %d messages, want %d", n, 3*signalledCacheSize, signalledCacheSize)
		}
		if _, ok := c.Get(key(1)); ok {
			t.Error("the least recently used key is still there")
		}
		if _, ok := c.Get(key(3*signalledCacheSize - 1)); !ok {
			t.Error("the newest key is gone")
		}
		if _, ok := c.Get(key(2*signalledCacheSize + 1)); !ok {
			t.Error("a key among the last 10,000 is gone")
		}
	})
	t.Run("time", func(t *testing.T) {
		stored := now
		c.Put("fresh", struct{}{})
		now = stored.Add(signalledCacheTTL - time.Nanosecond)
		if _, ok := c.Get("fresh"); !ok {
			t.Fatal("forgotten before its time to live")
		}
		now = stored.Add(signalledCacheTTL)
		before := c.Len()
		if _, ok := c.Get("fresh"); ok {
			t.Fatal("remembered after its time to live")
		}
		if c.Len() != before-1 {
			t.Errorf("expired entry not removed: %d entries, want %d", c.Len(), before-1)
		}
	})
}
