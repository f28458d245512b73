package keys

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/vkvstore/vkv/internal/badgerfmt"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// TestLayout pins the bytes of each space, so that a change of layout (which
// would make existing stores unreadable) fails here first.
func TestLayout(t *testing.T) {
	tests := []struct {
		name string
		got  []byte
		want []byte
	}{
		{"latest", LatestKey("ab"), []byte("kab")},
		{"history prefix", HistoryPrefix("ab"), []byte("h\x00\x02ab")},
		{"history", HistoryKey("ab", 0x0102), []byte("h\x00\x02ab\x00\x00\x00\x00\x00\x00\x01\x02")},
		{"change", ChangeKey(7), []byte("c\x00\x00\x00\x00\x00\x00\x00\x07")},
		{"expiry", ExpiryKey(0x0a0b, "k"), []byte("x\x00\x00\x00\x00\x00\x00\x0a\x0bk")},
		{"record", AppendRecord(nil, Record{Tombstone: true, Version: 2, CreateVersion: 1, ExpiresAt: 3, Value: []byte("v")}),
			[]byte("\x01\x00\x00\x00\x00\x00\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x03v")},
		{"change entry", AppendChange(AppendChange(nil, "a", false), "bc", true), []byte("\x00\x01a\x01\x02bc")},
	}
	for _, tt := range tests {
		if !bytes.Equal(tt.got, tt.want) {
			t.Errorf("%s: %q, want %q", tt.name, tt.got, tt.want)
		}
	}
}

// TestLengths: the named lengths are those of the keys and change-log
// entries the functions build, and the longest user key's history key is
// one Badger takes.
func TestLengths(t *testing.T) {
	for _, k := range []string{"", "a", strings.Repeat("k", 200), strings.Repeat("k", MaxUserKey)} {
		got := map[string]int{
			"latest":  len(LatestKey(k)),
			"history": len(HistoryKey(k, math.MaxUint64)),
			"expiry":  len(ExpiryKey(math.MaxInt64, k)),
			"change":  len(ChangeKey(math.MaxUint64)),
		}
		want := map[string]int{
			"latest":  LatestKeyExtra + len(k),
			"history": HistoryKeyExtra + len(k),
			"expiry":  ExpiryKeyExtra + len(k),
			"change":  ChangeKeyLen,
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("key of %d bytes: lengths (-named +built):\n%s", len(k), diff)
		}
		for _, del := range []bool{false, true} {
			if n := len(AppendChange(nil, k, del)); n > MaxChangeExtra+len(k) {
				t.Errorf("key of %d bytes: a change-log entry of %d bytes, over MaxChangeExtra+%d", len(k), n, len(k))
			}
		}
	}
	if n := HistoryKeyExtra + MaxUserKey; n > badgerfmt.MaxKeySize {
		t.Errorf("the history key of a key of MaxUserKey bytes has %d bytes; Badger takes at most %d", n, badgerfmt.MaxKeySize)
	}
}

// TestMalformed checks that each parser refuses keys of other spaces and of
// the wrong length.
func TestMalformed(t *testing.T) {
	for _, k := range [][]byte{nil, {}, []byte("h"), []byte("h\x00\x05ab\x00\x00\x00\x00\x00\x00\x00\x01"), []byte("kab"), ChangeKey(1)[:8]} {
		if _, _, err := ParseHistory(k); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseHistory(%q) = %v, want ErrMalformed", k, err)
		}
		if _, err := ParseChange(k); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseChange(%q) = %v, want ErrMalformed", k, err)
		}
		if _, _, err := ParseExpiry(k); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseExpiry(%q) = %v, want ErrMalformed", k, err)
		}
	}
	if _, err := UserKeyOfLatest([]byte("hab")); !errors.Is(err, ErrMalformed) {
		t.Errorf("UserKeyOfLatest of a history key: %v, want ErrMalformed", err)
	}
	// A malformed key was read from the store: it is corruption, and vkv
	// exports ErrCorrupt as its own sentinel.
	if !errors.Is(ErrMalformed, ErrCorrupt) {
		t.Errorf("errors.Is(ErrMalformed, ErrCorrupt) = false, want true")
	}
	for _, b := range [][]byte{{}, make([]byte, RecordHeader-1), append([]byte{2}, make([]byte, RecordHeader)...)} {
		if _, err := DecodeRecord(b); !errors.Is(err, ErrCorrupt) {
			t.Errorf("DecodeRecord(%q) = %v, want ErrCorrupt", b, err)
		}
	}
	for _, b := range [][]byte{{0}, {0, 5, 'a'}, {2, 1, 'a'}, {0, 0x80}, append([]byte{0}, bytes.Repeat([]byte{0xff}, 10)...)} {
		if _, err := DecodeChanges(b); !errors.Is(err, ErrCorrupt) {
			t.Errorf("DecodeChanges(%q) = %v, want ErrCorrupt", b, err)
		}
	}
}

// FuzzKeyOrder checks the latest and history spaces on two user keys and two
// versions: every key round-trips, byte order of latest keys is the order of
// user keys, byte order of one key's history keys is version order, and the
// history prefix of one key is never a prefix of another key's history key.
// The store refuses keys longer than MaxUserKey, so longer inputs are skipped.
func FuzzKeyOrder(f *testing.F) {
	f.Fuzz(func(t *testing.T, a, b string, v1, v2 uint64) {
		if len(a) > MaxUserKey || len(b) > MaxUserKey {
			t.Skip("longer than MaxUserKey")
		}
		for _, k := range []string{a, b} {
			got, err := UserKeyOfLatest(LatestKey(k))
			if err != nil || got != k {
				t.Fatalf("UserKeyOfLatest(LatestKey(%q)) = %q, %v", k, got, err)
			}
			for _, v := range []uint64{v1, v2} {
				hk := HistoryKey(k, v)
				gk, gv, err := ParseHistory(hk)
				if err != nil || gk != k || gv != v {
					t.Fatalf("ParseHistory(HistoryKey(%q, %d)) = %q, %d, %v", k, v, gk, gv, err)
				}
				if !bytes.HasPrefix(hk, HistoryPrefix(k)) {
					t.Fatalf("HistoryKey(%q, %d) = %q does not start with HistoryPrefix %q", k, v, hk, HistoryPrefix(k))
				}
			}
		}
		if got, want := bytes.Compare(LatestKey(a), LatestKey(b)), strings.Compare(a, b); got != want {
			t.Fatalf("LatestKey order of %q and %q is %d, user key order %d", a, b, got, want)
		}
		if got, want := bytes.Compare(HistoryKey(a, v1), HistoryKey(a, v2)), cmpUint(v1, v2); got != want {
			t.Fatalf("HistoryKey order of %q at %d and %d is %d, version order %d", a, v1, v2, got, want)
		}
		if a != b {
			pa, pb := HistoryPrefix(a), HistoryPrefix(b)
			if bytes.HasPrefix(pa, pb) || bytes.HasPrefix(pb, pa) {
				t.Fatalf("history prefixes of %q (%q) and %q (%q) prefix one another", a, pa, b, pb)
			}
			if bytes.HasPrefix(HistoryKey(a, v1), pb) || bytes.HasPrefix(HistoryKey(b, v2), pa) {
				t.Fatalf("a history key of %q or %q starts with the other's prefix", a, b)
			}
		}
	})
}

// FuzzChangeExpiry checks the change-log and expiry spaces: round trips (an
// expiry key without a user key is refused), and
// byte order equal to version order and, for expiry times of the Unix epoch
// or later (the only ones the store writes), to time order.
func FuzzChangeExpiry(f *testing.F) {
	f.Fuzz(func(t *testing.T, v1, v2 uint64, at1, at2 int64, key string) {
		for _, v := range []uint64{v1, v2} {
			if got, err := ParseChange(ChangeKey(v)); err != nil || got != v {
				t.Fatalf("ParseChange(ChangeKey(%d)) = %d, %v", v, got, err)
			}
		}
		if got, want := bytes.Compare(ChangeKey(v1), ChangeKey(v2)), cmpUint(v1, v2); got != want {
			t.Fatalf("ChangeKey order of %d and %d is %d, want %d", v1, v2, got, want)
		}
		for _, at := range []int64{at1, at2} {
			gat, gkey, err := ParseExpiry(ExpiryKey(at, key))
			if key == "" {
				// User keys are never empty; the parser refuses one.
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("ParseExpiry(ExpiryKey(%d, \"\")) = %d, %q, %v; want ErrMalformed", at, gat, gkey, err)
				}
				continue
			}
			if err != nil || gat != at || gkey != key {
				t.Fatalf("ParseExpiry(ExpiryKey(%d, %q)) = %d, %q, %v", at, key, gat, gkey, err)
			}
		}
		if at1 >= 0 && at2 >= 0 && at1 != at2 {
			if got, want := bytes.Compare(ExpiryKey(at1, key), ExpiryKey(at2, key)), cmpUint(uint64(at1), uint64(at2)); got != want {
				t.Fatalf("ExpiryKey order at %d and %d is %d, time order %d", at1, at2, got, want)
			}
		}
	})
}

// FuzzRecord checks that records and change-log entries round-trip.
func FuzzRecord(f *testing.F) {
	f.Fuzz(func(t *testing.T, tomb bool, v, cv uint64, at int64, value []byte, k1, k2 string, del bool) {
		r := Record{Tombstone: tomb, Version: v, CreateVersion: cv, ExpiresAt: at, Value: value}
		b := AppendRecord([]byte("prefix"), r)
		got, err := DecodeRecord(b[len("prefix"):])
		if err != nil {
			t.Fatalf("DecodeRecord(AppendRecord(%+v)): %v", r, err)
		}
		if r.Value == nil {
			r.Value = []byte{}
		}
		if diff := cmp.Diff(r, got); diff != "" {
			t.Fatalf("record round trip (-want +got):\n%s", diff)
		}
		want := []Change{{Key: k1, Deleted: del}, {Key: k2, Deleted: !del}}
		enc := AppendChange(AppendChange(nil, k1, del), k2, !del)
		changes, err := DecodeChanges(enc)
		if err != nil {
			t.Fatalf("DecodeChanges(%q): %v", enc, err)
		}
		if diff := cmp.Diff(want, changes); diff != "" {
			t.Fatalf("change round trip (-want +got):\n%s", diff)
		}
	})
}

// FuzzDecode feeds arbitrary bytes to every parser and decoder: none may
// panic, and whatever one accepts must encode back to the same bytes (for a
// change-log entry, whose lengths are uvarints that may be sent
// non-minimally, back to the same changes).
func FuzzDecode(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		if k, err := UserKeyOfLatest(b); err == nil && !bytes.Equal(LatestKey(k), b) {
			t.Fatalf("UserKeyOfLatest(%q) = %q, which encodes as %q", b, k, LatestKey(k))
		}
		if k, v, err := ParseHistory(b); err == nil && !bytes.Equal(HistoryKey(k, v), b) {
			t.Fatalf("ParseHistory(%q) = %q, %d, which encodes as %q", b, k, v, HistoryKey(k, v))
		}
		if v, err := ParseChange(b); err == nil && !bytes.Equal(ChangeKey(v), b) {
			t.Fatalf("ParseChange(%q) = %d, which encodes as %q", b, v, ChangeKey(v))
		}
		if at, k, err := ParseExpiry(b); err == nil && !bytes.Equal(ExpiryKey(at, k), b) {
			t.Fatalf("ParseExpiry(%q) = %d, %q, which encodes as %q", b, at, k, ExpiryKey(at, k))
		}
		if r, err := DecodeRecord(b); err == nil && !bytes.Equal(AppendRecord(nil, r), b) {
			t.Fatalf("DecodeRecord(%q) = %+v, which encodes as %q", b, r, AppendRecord(nil, r))
		}
		changes, err := DecodeChanges(b)
		if err != nil {
			return
		}
		var enc []byte
		for _, c := range changes {
			enc = AppendChange(enc, c.Key, c.Deleted)
		}
		again, err := DecodeChanges(enc)
		if err != nil || !cmp.Equal(changes, again) {
			t.Fatalf("DecodeChanges(%q) = %+v, re-encoded as %q, which decodes as %+v, %v", b, changes, enc, again, err)
		}
		if len(enc) > len(b) {
			t.Fatalf("DecodeChanges(%q): minimal re-encoding %q is longer than the input", b, enc)
		}
	})
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// TestFuzzEdges checks the orderings at their edges: the largest version,
// and keys of MaxUserKey bytes.
func TestFuzzEdges(t *testing.T) {
	if got, want := bytes.Compare(HistoryKey("a", 0), HistoryKey("a", math.MaxUint64)), -1; got != want {
		t.Errorf("HistoryKey order at 0 and max: %d", got)
	}
	// A long key against its own prefix: the length field keeps them apart.
	long := strings.Repeat("a", MaxUserKey)
	if bytes.HasPrefix(HistoryPrefix(long), HistoryPrefix(long[:MaxUserKey-1])) {
		t.Errorf("history prefix of a key starts with the prefix of the key one byte shorter")
	}
}
