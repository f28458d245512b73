package vkv

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Defaults used for zero fields of Options.
const (
	DefaultMaxKeySize      = 4096
	DefaultMaxValueSize    = 1 << 20
	DefaultMaxTxnOps       = 1000
	DefaultHistoryVersions = 100_000
	DefaultMemTableSize    = 8 << 20
	DefaultValueLogSize    = 16 << 20
	DefaultBlockCacheSize  = 0
	// DefaultEncryptionIndexCache is Badger's index cache, in bytes, of a
	// store with an EncryptionKey, and its block cache when BlockCacheSize
	// is 0: 64 MiB.
	DefaultEncryptionIndexCache = 64 << 20
	DefaultKeyCacheSize         = 16_384
	// ThroughputKeyCacheSize is the KeyCacheSize of ThroughputOptions.
	ThroughputKeyCacheSize = 65_536
	defaultReapInterval    = time.Second
	defaultCompactInterval = 10 * time.Second
	defaultGCInterval      = 5 * time.Minute
)

// KeepAllHistory as Options.HistoryVersions keeps every version forever.
const KeepAllHistory = math.MaxUint64

// Options configure a Store. The zero value is a valid configuration: a
// durable on-disk store with the defaults named on each field. Use
// DefaultOptions and the With methods, or set fields directly.
type Options struct {
	// InMemory keeps everything in memory; the directory is ignored and
	// nothing survives Close. Meant for tests and caches.
	InMemory bool

	// NoSync turns off the fsync of each commit. Writes are then
	// acknowledged before they are on disk: a process crash loses nothing
	// (the data is in the OS page cache), but a machine crash or power loss
	// can lose the last acknowledged writes, and with them the versions they
	// were given, which may then be given again. Default false: durable.
	NoSync bool

	// HistoryVersions is the retention of history: the store keeps every
	// version of every key written in the last HistoryVersions versions of
	// the store, plus, for each key, the newest version older than that
	// window (so GetAt answers for any version inside the window). Older
	// versions are compacted away in the background; reads of them give
	// ErrCompacted. Default DefaultHistoryVersions; KeepAllHistory disables
	// compaction.
	HistoryVersions uint64

	// MaxKeySize is the longest key in bytes. Default DefaultMaxKeySize.
	MaxKeySize int
	// MaxValueSize is the longest value in bytes. Default DefaultMaxValueSize;
	// an in-memory store takes at most 1 MiB less 26 bytes, Badger's limit
	// without a value log.
	MaxValueSize int
	// MaxTxnOps is the most writes one transaction may make. Default
	// DefaultMaxTxnOps.
	MaxTxnOps int

	// Logger receives the store's own log lines and Badger's. Default: none.
	Logger *slog.Logger

	// MemTableSize is the size of each of Badger's memtables (two or three
	// at a time, see Profile). Larger
	// tables take more memory and allow larger transactions (one commit holds
	// at most 15% of it). Default DefaultMemTableSize.
	MemTableSize int64
	// ValueLogFileSize is the size of Badger's value log files. Default
	// DefaultValueLogSize.
	ValueLogFileSize int64
	// BlockCacheSize is Badger's block cache in bytes. Default 0: reads go to
	// the OS page cache, which serves an embedded store well and costs the
	// process no heap. Raise it for read-heavy stores larger than memory.
	BlockCacheSize int64
	// KeyCacheSize is how many keys the committer remembers the latest
	// version of, so that it checks conditions and writes those keys without
	// reading Badger; with more keys being written than it holds, the
	// committer reads the others from Badger. It is a count of keys, not a
	// size: each costs 32 bytes, a copy of the key and the map's overhead.
	// Default DefaultKeyCacheSize keys (ThroughputKeyCacheSize under
	// ProfileThroughput); negative: no cache.
	KeyCacheSize int

	// MinFreeSpace is the free space, in bytes, that the file system holding
	// the store must keep. Below it, writes (and Open) fail with
	// ErrInsufficientStorage instead of letting Badger run out of space: it
	// writes through memory-mapped files, and a full disk kills the process
	// with SIGBUS. Free space is checked at most every 100 ms and after every
	// MinFreeSpace/4 bytes written. Default 0: 4 memtables, 2 value-log files
	// and 32 MiB for compaction (96 MiB with the other defaults). Negative:
	// no check.
	MinFreeSpace int64

	// EncryptionKey, if set, encrypts the store at rest with Badger's own
	// encryption (AES in CTR mode; a key of 16, 24 or 32 bytes for AES-128,
	// -192 or -256): the master key encrypts data keys, which Badger keeps
	// in its key registry and rotates every 10 days (Badger's
	// EncryptionKeyRotationDuration, settable through Badger); the data
	// keys encrypt the tables and the value log. The store then keeps an
	// index cache of DefaultEncryptionIndexCache bytes, and a block cache of
	// as much if BlockCacheSize is 0, which Badger needs to read encrypted
	// tables. A store created with a key must be opened
	// with it: Open of an encrypted store without the key, with another
	// key, or of a store that is not encrypted with a key, fails with an
	// error matching ErrEncryptionKey and changes nothing on disk. Default
	// nil: no encryption. The key cannot be added to or removed from an
	// existing store; back it up and restore into a new one (see
	// docs/security.md).
	EncryptionKey []byte

	// Profile chooses the Badger settings not covered by other fields:
	// ProfileLean (the default) or ProfileThroughput; Open refuses any
	// other value with an *OptionsError. See Profile.
	Profile Profile

	// Badger, if set, is applied last to the Badger options the store built,
	// for tuning not covered above. Settings that break the store's
	// guarantees (such as SyncWrites when NoSync is false) are overridden.
	Badger func(badger.Options) badger.Options

	// Clock is the store's source of time; see Clock. Every TTL is
	// measured on it: a write's ExpiresAt is the clock's time at commit
	// plus the TTL, a key is invisible from the moment the clock reaches
	// its ExpiresAt, and the reaper deletes it once the clock says so.
	// Default: the system clock. Tests set a fake clock (such as
	// vkvtest.FakeClock) and advance it instead of sleeping. The clock
	// cannot be changed while the store is open, and expiry times written
	// under one clock are read under whatever clock the store is next
	// opened with.
	Clock Clock

	// noReap turns the TTL reaper off, for tests of expired but unreaped keys.
	noReap bool
	// compactEvery, if set, replaces the background compaction interval,
	// for tests.
	compactEvery time.Duration
}

// Profile is a choice of the Badger settings that trade memory for write
// throughput. It changes nothing a caller can observe but memory and speed:
// the same data, limits and guarantees under either profile, and a store
// written under one opens under the other.
type Profile int

const (
	// ProfileLean, the default, holds less memory: at most one full
	// memtable waiting for its flush besides the one being written (Badger's
	// NumMemtables 1), and DefaultKeyCacheSize keys in the committer's
	// cache. Writes stall while a flush is behind. BENCHMARKS.md ("Memory at
	// 100k keys") gives the resident memory measured under both profiles
	// and what bounds it further (the Go runtime's GOMEMLIMIT).
	ProfileLean Profile = iota
	// ProfileThroughput is the profile of ThroughputOptions: up to two full
	// memtables may wait for their flush (Badger's NumMemtables 2) and
	// ThroughputKeyCacheSize keys are cached, for more memory: one more
	// memtable arena (1.3x MemTableSize) while flushes are behind, and up
	// to about 6 MiB more of key cache (5 MiB more live heap at rest after
	// loading 100,000 keys).
	ProfileThroughput
)

// String returns "lean" or "throughput".
func (p Profile) String() string {
	switch p {
	case ProfileLean:
		return "lean"
	case ProfileThroughput:
		return "throughput"
	}
	return fmt.Sprintf("Profile(%d)", int(p))
}

// ThroughputOptions returns the throughput profile, spelled out: the
// defaults of DefaultOptions with Profile ProfileThroughput and KeyCacheSize
// ThroughputKeyCacheSize. An Options with Profile ProfileThroughput and other
// fields zero stands for the same.
func ThroughputOptions() Options {
	o := DefaultOptions()
	o.Profile = ProfileThroughput
	o.KeyCacheSize = ThroughputKeyCacheSize
	return o
}

// DefaultOptions returns the options a zero Options stands for, spelled out:
// the lean profile (ProfileLean).
func DefaultOptions() Options {
	return Options{
		HistoryVersions:  DefaultHistoryVersions,
		MaxKeySize:       DefaultMaxKeySize,
		MaxValueSize:     DefaultMaxValueSize,
		MaxTxnOps:        DefaultMaxTxnOps,
		MemTableSize:     DefaultMemTableSize,
		ValueLogFileSize: DefaultValueLogSize,
		BlockCacheSize:   DefaultBlockCacheSize,
		KeyCacheSize:     DefaultKeyCacheSize,
	}
}

// WithInMemory returns a copy of o with InMemory set to b.
func (o Options) WithInMemory(b bool) Options { o.InMemory = b; return o }

// WithNoSync returns a copy of o with NoSync set to b.
func (o Options) WithNoSync(b bool) Options { o.NoSync = b; return o }

// WithHistoryVersions returns a copy of o with HistoryVersions set to n.
func (o Options) WithHistoryVersions(n uint64) Options { o.HistoryVersions = n; return o }

// WithLogger returns a copy of o with Logger set to l.
func (o Options) WithLogger(l *slog.Logger) Options { o.Logger = l; return o }

// WithMaxKeySize returns a copy of o with MaxKeySize set to n.
func (o Options) WithMaxKeySize(n int) Options { o.MaxKeySize = n; return o }

// WithMaxValueSize returns a copy of o with MaxValueSize set to n.
func (o Options) WithMaxValueSize(n int) Options { o.MaxValueSize = n; return o }

// WithMaxTxnOps returns a copy of o with MaxTxnOps set to n.
func (o Options) WithMaxTxnOps(n int) Options { o.MaxTxnOps = n; return o }

// WithKeyCacheSize returns a copy of o with KeyCacheSize set to n.
func (o Options) WithKeyCacheSize(n int) Options { o.KeyCacheSize = n; return o }

// WithMemTableSize returns a copy of o with MemTableSize set to n.
func (o Options) WithMemTableSize(n int64) Options { o.MemTableSize = n; return o }

// WithValueLogFileSize returns a copy of o with ValueLogFileSize set to n.
func (o Options) WithValueLogFileSize(n int64) Options { o.ValueLogFileSize = n; return o }

// WithEncryptionKey returns a copy of o with EncryptionKey set to key.
func (o Options) WithEncryptionKey(key []byte) Options { o.EncryptionKey = key; return o }

// WithBlockCacheSize returns a copy of o with BlockCacheSize set to n.
func (o Options) WithBlockCacheSize(n int64) Options { o.BlockCacheSize = n; return o }

// WithClock returns a copy of o with Clock set to c.
func (o Options) WithClock(c Clock) Options { o.Clock = c; return o }

// WithBadger returns a copy of o with Badger set to f.
func (o Options) WithBadger(f func(badger.Options) badger.Options) Options { o.Badger = f; return o }

// withDefaults fills zero fields.
func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.HistoryVersions == 0 {
		o.HistoryVersions = d.HistoryVersions
	}
	if o.MaxKeySize <= 0 {
		o.MaxKeySize = d.MaxKeySize
	}
	if o.MaxValueSize <= 0 {
		o.MaxValueSize = d.MaxValueSize
	}
	if o.MaxTxnOps <= 0 {
		o.MaxTxnOps = d.MaxTxnOps
	}
	if o.Profile == ProfileThroughput {
		d = ThroughputOptions()
	}
	if o.MemTableSize <= 0 {
		o.MemTableSize = d.MemTableSize
	}
	if o.ValueLogFileSize <= 0 {
		o.ValueLogFileSize = d.ValueLogFileSize
	}
	if o.KeyCacheSize == 0 {
		o.KeyCacheSize = d.KeyCacheSize
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Clock == nil {
		o.Clock = SystemClock
	}
	return o
}

// ErrInvalidOptions is matched by *OptionsError.
var ErrInvalidOptions = errors.New("vkv: invalid options")

// OptionsError is returned by Open for options the store cannot honour,
// alone or together: for example a MaxValueSize whose largest record does
// not fit in one value-log file, which would make every write of such a
// value fail inside the committer. Open fails before it writes anything.
type OptionsError struct {
	Option string // the field at fault, such as "MaxValueSize"
	Other  string // the field it conflicts with, if any
	Reason string // what is wrong and what to change
}

func (e *OptionsError) Error() string {
	if e.Other != "" {
		return fmt.Sprintf("vkv: options %s and %s do not fit together: %s", e.Option, e.Other, e.Reason)
	}
	return fmt.Sprintf("vkv: option %s: %s", e.Option, e.Reason)
}

// Is reports whether target is ErrInvalidOptions.
func (e *OptionsError) Is(target error) bool { return target == ErrInvalidOptions }
