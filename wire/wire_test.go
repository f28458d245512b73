package wire_test

import (
	"encoding/json"
	"net/url"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vkvstore/vkv"
	"github.com/vkvstore/vkv/wire"
)

// TestEntryRoundTrip checks that what the server encodes (ItemOf,
// HistoryVersionOf, WatchEventOf) is what the client decodes (Entry), through
// JSON, for keys that are and are not UTF-8.
func TestEntryRoundTrip(t *testing.T) {
	exp := time.Date(2030, 1, 2, 3, 4, 5, 6, time.UTC)
	for _, tc := range []struct {
		e      vkv.Entry
		reason string
	}{
		{vkv.Entry{Key: "orders/17", Value: []byte("paid"), Version: 3, CreateVersion: 1}, "a plain entry"},
		{vkv.Entry{Key: "a\xffb", Value: []byte{0, 1}, Version: 4, CreateVersion: 4, ExpiresAt: exp}, "a key that is not UTF-8, with a TTL"},
		{vkv.Entry{Key: "k", Value: []byte{}, Version: 5, CreateVersion: 5}, "an empty value"},
	} {
		var it wire.Item
		roundTrip(t, wire.ItemOf(&tc.e), &it)
		if diff := cmp.Diff(tc.e, it.Entry()); diff != "" {
			t.Errorf("%s: Item (-sent +received):\n%s", tc.reason, diff)
		}
		var hv wire.HistoryVersion
		roundTrip(t, wire.HistoryVersionOf(&tc.e), &hv)
		if diff := cmp.Diff(tc.e, hv.Entry(tc.e.Key)); diff != "" {
			t.Errorf("%s: HistoryVersion (-sent +received):\n%s", tc.reason, diff)
		}
		var we wire.WatchEvent
		roundTrip(t, wire.WatchEventOf(&tc.e), &we)
		if diff := cmp.Diff(tc.e, we.Entry()); diff != "" {
			t.Errorf("%s: WatchEvent (-sent +received):\n%s", tc.reason, diff)
		}
	}
	del := vkv.Entry{Key: "gone", Version: 6, Deleted: true}
	var hv wire.HistoryVersion
	roundTrip(t, wire.HistoryVersionOf(&del), &hv)
	if diff := cmp.Diff(del, hv.Entry("gone")); diff != "" {
		t.Errorf("a delete: HistoryVersion (-sent +received):\n%s", diff)
	}
}

func roundTrip(t *testing.T, in, out any) {
	t.Helper()
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatalf("Marshal(%+v): %v", in, err)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("Unmarshal(%s): %v", b, err)
	}
}

// TestEscapeKey checks that an escaped key is one path segment that decodes
// to the key, with nothing a client or proxy would clean.
func TestEscapeKey(t *testing.T) {
	for _, key := range []string{"a/b", "..", ".", "a//b", "100%", "a b?c#d", "\xff\x00"} {
		esc := wire.EscapeKey(key)
		for _, c := range []byte{'/', '.', '?', '#', ' '} {
			for i := 0; i < len(esc); i++ {
				if esc[i] == c {
					t.Errorf("EscapeKey(%q) = %q holds %q", key, esc, c)
				}
			}
		}
		if got, err := url.PathUnescape(esc); err != nil || got != key {
			t.Errorf("PathUnescape(EscapeKey(%q)) = %q, %v", key, got, err)
		}
	}
}
