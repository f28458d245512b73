package vkv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"

	"github.com/vkvstore/vkv/internal/badgerfmt"
	"github.com/vkvstore/vkv/internal/keys"
)

// Store is a versioned key-value store on Badger. It implements KV.
//
// A Store is safe for concurrent use. Reads go straight to Badger snapshots;
// writes are queued to one committer goroutine that checks their conditions
// in order, numbers them, and commits many of them in one Badger transaction
// with one fsync (group commit). A Store must be closed with Close.
type Store struct {
	db   *badger.DB
	opts Options
	log  *loggerAdapter

	queue chan *request
	stop  chan struct{} // closed by Close after in-flight calls are done
	bg    sync.WaitGroup

	// current is the newest version committed and visible to reads; the
	// committer (whoever holds commitMu) stores it after each commit.
	current atomic.Uint64
	// compacted is the oldest version GetAt still answers for. It is
	// loaded by Open and then stored only by compact, under compactMu, and
	// only upwards; readers load it without a lock.
	compacted atomic.Uint64
	// compactMu is held by the one compaction pass that may run at a time
	// (Store.Compact or the background loop); it orders every change of
	// compacted and of its copy in Badger.
	compactMu sync.Mutex

	// reapWake nudges the reaper when a write with a TTL commits.
	reapWake chan struct{}

	stats counters

	// commits is closed and replaced after each commit while watchers
	// wait on it; see watch.go.
	watchers atomic.Int64
	commits  atomic.Pointer[chan struct{}]

	// calls counts calls in progress; Close sets closingBit in it and
	// waits on drained for the count to reach zero.
	calls     atomic.Int64
	drained   chan struct{}
	drainOnce sync.Once
	closeOnce sync.Once
	closeErr  error

	// maxBatchSize and maxBatchCount are Badger's limits on one
	// transaction; valueThreshold decides what Badger counts (see
	// badgerfmt.EntryCost and badgerfmt.TooBig).
	maxBatchSize   int64
	maxBatchCount  int64
	valueThreshold int64

	// The free-space guard; see Options.MinFreeSpace. The committer owns
	// lastSpaceCheck, writtenSinceCheck and lowSpace.
	dir               string
	minFree           int64
	lastSpaceCheck    time.Time
	writtenSinceCheck int64
	lowSpace          error

	// latest caches latest entries for the committer; see latestCache.
	latest latestCache

	// commitMu is held by whoever commits: the committer goroutine, or a
	// caller committing its own request while the committer is idle
	// (commitInline). It guards the committer's state above and latest.
	// committing is set while the committer goroutine has a batch in hand.
	commitMu   sync.Mutex
	committing atomic.Bool

	// txns runs Update and View; see TxnEngine.
	txns *TxnEngine

	// failSet, set only by tests before the first write, fails the
	// committer's write of a key to Badger, to inject a failure part-way
	// through a request.
	failSet func(key []byte) error
}

var _ KV = (*Store)(nil)

// maxInMemoryValue is the largest value an in-memory store takes: its
// record must be below the largest value threshold (see badgerOptions).
const maxInMemoryValue = badgerfmt.MaxValueThreshold - 1 - keys.RecordHeader

// Badger's level-0 settings (see badgerOptions): compaction of level 0
// starts at level0Tables tables, and writes stall at level0Stall.
const (
	level0Tables = 10
	level0Stall  = 30
)

// Open opens the store in dir, creating it if needed. opts may be nil; zero
// fields of opts take their defaults. With opts.InMemory, dir is ignored.
//
// Only one Store may have a directory open at a time: a second Open of the
// same directory, from this process or another, fails at once with an error
// matching ErrLocked.
func Open(dir string, opts *Options) (*Store, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	o = o.withDefaults()
	if o.InMemory {
		// Without a value log Badger keeps every value in the LSM tree, and
		// takes only records below its value threshold
		// (badgerfmt.LargestValue), at most 1 MiB; a stored record is the
		// value plus a header.
		o.MaxValueSize = min(o.MaxValueSize, maxInMemoryValue)
	}
	if o.MaxKeySize > keys.MaxUserKey {
		return nil, fmt.Errorf("vkv: MaxKeySize %d is over the limit of %d", o.MaxKeySize, keys.MaxUserKey)
	}
	if !o.InMemory && dir == "" {
		return nil, errors.New("vkv: Open needs a directory (or Options.InMemory)")
	}
	if o.Profile != ProfileLean && o.Profile != ProfileThroughput {
		return nil, &OptionsError{Option: "Profile", Reason: fmt.Sprintf("%v is not a profile: use ProfileLean or ProfileThroughput", o.Profile)}
	}
	if n := len(o.EncryptionKey); n != 0 && n != 16 && n != 24 && n != 32 {
		return nil, fmt.Errorf("%w: the key must be 16, 24 or 32 bytes (AES-128, -192 or -256), not %d", ErrEncryptionKey, n)
	}
	log := &loggerAdapter{l: o.Logger}
	bo := badgerOptions(dir, o, log)
	if rec := int64(o.MaxValueSize) + keys.RecordHeader; !o.InMemory && rec > badgerfmt.LargestValue(bo) {
		// Badger refuses an entry larger than a value-log file
		// (badgerfmt.LargestValue), and the committer would meet that
		// half-way through a request.
		return nil, &OptionsError{Option: "MaxValueSize", Other: "ValueLogFileSize", Reason: fmt.Sprintf(
			"a value of %d bytes is stored as a record of %d bytes, larger than a value-log file (%d bytes); lower MaxValueSize or raise ValueLogFileSize",
			o.MaxValueSize, rec, bo.ValueLogFileSize)}
	}
	minFree := o.MinFreeSpace
	if minFree == 0 {
		minFree = 4*bo.MemTableSize + 2*bo.ValueLogFileSize + 32<<20
	}
	if o.InMemory {
		minFree = 0
	}
	if minFree > 0 {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("vkv: open %s: %w", dir, err)
		}
		if err := checkFreeSpace(dir, minFree); err != nil {
			return nil, err
		}
	}
	var cleanVersion uint64
	if !o.InMemory {
		var err error
		if cleanVersion, err = readClean(dir); err != nil {
			return nil, err
		}
		if err := precheck(dir, bo, cleanVersion > 0); err != nil {
			return nil, err
		}
	}
	db, err := badger.Open(bo)
	if err != nil {
		if badgerfmt.IsLocked(err) {
			return nil, fmt.Errorf("%w: %s", ErrLocked, dir)
		}
		if errors.Is(err, badger.ErrEncryptionKeyMismatch) || errors.Is(err, badger.ErrInvalidEncryptionKey) {
			return nil, fmt.Errorf("%w: open %s: %v", ErrEncryptionKey, dir, err)
		}
		return nil, fmt.Errorf("vkv: open %s: %w", dir, err)
	}
	s := &Store{
		db:             db,
		opts:           o,
		log:            log,
		queue:          make(chan *request, 1024),
		stop:           make(chan struct{}),
		reapWake:       make(chan struct{}, 1),
		drained:        make(chan struct{}),
		maxBatchSize:   db.MaxBatchSize(),
		maxBatchCount:  db.MaxBatchCount(),
		valueThreshold: db.Opts().ValueThreshold,
		dir:            dir,
		minFree:        max(minFree, 0),
		lastSpaceCheck: o.Clock.Now(),
		latest:         newLatestCache(o.KeyCacheSize),
	}
	s.txns = NewTxnEngine(storeBackend{s}, TxnEngineOptions{Limits: s.Limits()})
	if err := s.fitsOneCommit(); err != nil {
		db.Close()
		return nil, err
	}
	if err := s.load(); err != nil {
		db.Close()
		return nil, err
	}
	if cur := s.current.Load(); cur < cleanVersion {
		db.Close()
		return nil, fmt.Errorf("%w: the store was closed at version %d but holds only version %d", ErrCorrupt, cleanVersion, cur)
	}
	if !o.InMemory {
		// From here on the store is running: a crash must not look clean.
		if err := os.Remove(filepath.Join(dir, cleanFile)); err != nil && !os.IsNotExist(err) {
			db.Close()
			return nil, fmt.Errorf("vkv: open %s: %w", dir, err)
		}
	}
	ch := make(chan struct{})
	s.commits.Store(&ch)
	s.bg.Add(1)
	go s.commitLoop()
	s.startMaintenance()
	return s, nil
}

// fitsOneCommit checks that a write of the largest key and value, with a
// TTL, fits in one Badger transaction, so that no write within the limits
// the options allow is refused as too large.
func (s *Store) fitsOneCommit() error {
	key := strings.Repeat("k", s.opts.MaxKeySize)
	r := &request{ops: []writeOp{{key: key, value: make([]byte, s.opts.MaxValueSize), ttl: time.Second}}}
	if err := s.cost(r); err != nil {
		return &OptionsError{Option: "MaxValueSize", Other: "MemTableSize", Reason: fmt.Sprintf(
			"one write of the largest key and value needs %d bytes of a commit, and a commit holds at most %d (%d%% of a memtable); lower MaxValueSize or raise MemTableSize",
			r.costSize, s.maxBatchSize, badgerfmt.MaxBatchPercent)}
	}
	return nil
}

// badgerOptions builds the Badger profile: small memtables, no block cache,
// no compression (Badger panics on compression without a block cache), two
// compactors, and no Badger conflict detection, since only the committer
// writes user data.
func badgerOptions(dir string, o Options, log *loggerAdapter) badger.Options {
	mem := o.MemTableSize
	if o.InMemory {
		// Without a value log every value lives in the memtable, written
		// twice (latest and history): one commit must hold two of the
		// largest values (Badger allows badgerfmt.MaxBatchPercent of a
		// memtable per commit). A write adds up to nine copies of its key
		// (see Store.cost).
		need := (2*int64(o.MaxValueSize+keys.RecordHeader) + 10*int64(o.MaxKeySize+32) + 4096) * 100 / badgerfmt.MaxBatchPercent
		mem = max(mem, need)
	}
	if o.InMemory {
		dir = ""
	}
	// The profile's share (Badger v4.9.6): NumMemtables is how many full
	// memtables may wait for their flush (db.go:252-253) before writes
	// stall, each an arena of about 1.3x MemTableSize allocated on the Go
	// heap (db.go:1092, memtable.go:99). Settings measured and not made
	// part of a profile (BENCHMARKS.md, "Memory"): a smaller BaseTableSize
	// (tables below L0, levels.go:441-453, each built in a buffer of twice
	// its size, table/builder.go:117-124, from a pool of up to eight,
	// db.go:261) and a smaller MemTableSize moved the RSS by less than its
	// run-to-run spread; NumCompactors is already 2, the fewest Badger
	// allows short of none (db.go:147).
	//
	// Level 0 (levels.go:597, level_handler.go:231, levels.go:1666): with
	// keys written at random every level-0 table overlaps the whole of the
	// level below, so each level-0 compaction rewrites that level. Waiting
	// for level0Tables tables before compacting (Badger's default 5, ours
	// was 2) rewrites it five times less often; stalling writes only at
	// level0Stall keeps the rare bursts from blocking the committer. At
	// 100,000 keys at random (BENCHMARKS.md, "Level 0, and the targets
	// again") this raised CAS without fsync by about 40%, durable CAS at 64
	// writers by about 70% and cut the Go heap after loading from 87 to
	// 36 MiB; reads check up to level0Stall level-0 bloom filters, and Get
	// stayed within its run-to-run spread.
	numMem := 1
	if o.Profile == ProfileThroughput {
		numMem = 2
	}
	bo := badger.DefaultOptions(dir).
		WithInMemory(o.InMemory).
		WithSyncWrites(!o.NoSync).
		WithLogger(log).
		WithMemTableSize(mem).
		WithNumMemtables(numMem).
		WithNumLevelZeroTables(level0Tables).
		WithNumLevelZeroTablesStall(level0Stall).
		WithValueLogFileSize(o.ValueLogFileSize).
		WithBlockCacheSize(o.BlockCacheSize).
		WithIndexCacheSize(0).
		WithCompression(options.None).
		WithNumCompactors(2).
		WithDetectConflicts(false).
		WithMetricsEnabled(false).
		// Verify checksums on every read, so corruption is an error and
		// never a wrong value.
		WithChecksumVerificationMode(options.OnBlockRead).
		WithVerifyValueChecksum(true)
	// Badger refuses a value threshold over MaxValueThreshold or over its
	// limit on one commit (see badgerfmt.MaxValueThreshold).
	maxBatch := badgerfmt.MaxBatchSize(mem)
	if o.InMemory {
		// Every value must stay below the threshold
		// (badgerfmt.LargestValue).
		bo = bo.WithValueThreshold(min(maxBatch, badgerfmt.MaxValueThreshold))
	} else {
		bo = bo.WithValueThreshold(min(16<<10, maxBatch))
	}
	if len(o.EncryptionKey) > 0 {
		bo = bo.WithEncryptionKey(o.EncryptionKey).WithIndexCacheSize(DefaultEncryptionIndexCache)
	}
	if o.Badger != nil {
		bo = o.Badger(bo)
	}
	if (len(bo.EncryptionKey) > 0 || bo.Compression != options.None) && bo.BlockCacheSize == 0 {
		// Badger panics in Open without a block cache then.
		bo = bo.WithBlockCacheSize(DefaultEncryptionIndexCache)
	}
	bo = bo.WithSyncWrites(!o.NoSync).WithInMemory(o.InMemory).WithDetectConflicts(false)
	return bo
}

// newestVersion returns the newest version in txn's snapshot: the newest
// change-log entry, which is the version counter (see commit.go).
func newestVersion(txn *badger.Txn) (uint64, error) {
	it := txn.NewIterator(badger.IteratorOptions{Reverse: true, Prefix: []byte{keys.SpaceChange}})
	defer it.Close()
	it.Seek(keys.ChangeKey(^uint64(0)))
	if !it.Valid() {
		return 0, nil
	}
	v, err := keys.ParseChange(it.Item().Key())
	if err != nil {
		return 0, fmt.Errorf("vkv: change log: %w", err)
	}
	return v, nil
}

// snapshotVersion returns the version of txn's snapshot: the newest
// version it holds. cur must be a value of Store.current loaded before txn
// was opened: the committer stores current after its commit is visible,
// so the snapshot holds cur, and perhaps newer versions whose current was
// not stored yet. Versions are handed out one by one, each with a
// change-log entry, so when the snapshot has none for cur+1 its version is
// cur: one point read instead of an iterator (newestVersion) in the usual
// case.
func snapshotVersion(txn *badger.Txn, cur uint64) (uint64, error) {
	_, err := txn.Get(keys.ChangeKey(cur + 1))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return cur, nil
	}
	if err != nil {
		return 0, fmt.Errorf("vkv: change log: %w", err)
	}
	return newestVersion(txn)
}

// load reads the version counter and the compaction mark.
func (s *Store) load() error {
	return s.db.View(func(txn *badger.Txn) error {
		cur, err := newestVersion(txn)
		if err != nil {
			return err
		}
		s.current.Store(cur)
		comp, err := readUint64(txn, keys.CompactedMark)
		if err != nil {
			return err
		}
		s.compacted.Store(comp)
		return nil
	})
}

func readUint64(txn *badger.Txn, k []byte) (uint64, error) {
	item, err := txn.Get(k)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("vkv: read %q: %w", k, err)
	}
	var n uint64
	err = item.Value(func(b []byte) error {
		if len(b) != 8 {
			return fmt.Errorf("vkv: metadata %q: %w", k, keys.ErrCorrupt)
		}
		n = uint64(b[0])<<56 | uint64(b[1])<<48 | uint64(b[2])<<40 | uint64(b[3])<<32 |
			uint64(b[4])<<24 | uint64(b[5])<<16 | uint64(b[6])<<8 | uint64(b[7])
		return nil
	})
	return n, err
}

// closingBit marks Store.calls once Close has begun.
const closingBit = 1 << 62

// enter registers a call in progress; the caller must call s.exit. Two
// atomic adds: it is on every read's path.
func (s *Store) enter(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.calls.Add(1)&closingBit != 0 {
		s.exit()
		return ErrClosed
	}
	return nil
}

// exit ends a call registered by enter.
func (s *Store) exit() {
	if s.calls.Add(-1) == closingBit {
		s.drainOnce.Do(func() { close(s.drained) })
	}
}

// Close waits for calls in progress, stops the background work, and closes
// Badger. It is safe to call more than once; later calls return the result of
// the first. Calls made after Close return ErrClosed.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		if s.calls.Or(closingBit)&^closingBit != 0 {
			<-s.drained
		}
		close(s.stop)
		s.bg.Wait()
		s.closeErr = s.db.Close()
		if s.closeErr == nil && !s.opts.InMemory && s.current.Load() > 0 {
			if err := writeClean(s.dir, s.current.Load()); err != nil {
				s.closeErr = fmt.Errorf("vkv: close: %w", err)
			}
		}
	})
	return s.closeErr
}

// CurrentVersion returns the newest version the store has handed out.
func (s *Store) CurrentVersion(ctx context.Context) (Version, error) {
	if err := s.enter(ctx); err != nil {
		return 0, err
	}
	defer s.exit()
	return Version(s.current.Load()), nil
}

// OldestVersion returns the oldest version GetAt answers for: history older
// than it has been compacted.
func (s *Store) OldestVersion(ctx context.Context) (Version, error) {
	if err := s.enter(ctx); err != nil {
		return 0, err
	}
	defer s.exit()
	return Version(s.compacted.Load()), nil
}

// Get returns the current entry of key, or ErrNotFound.
func (s *Store) Get(ctx context.Context, key string) (Entry, error) {
	if err := s.checkKey(key); err != nil {
		return Entry{}, err
	}
	if err := s.enter(ctx); err != nil {
		return Entry{}, err
	}
	defer s.exit()
	txn := s.db.NewTransaction(false)
	defer txn.Discard()
	return getLatest(txn, key, s.opts.Clock)
}

// nower is the half of Clock that getLatest needs.
type nower interface{ Now() time.Time }

// instant is a time as a nower: a transaction judges expiry at its start.
type instant time.Time

func (i instant) Now() time.Time { return time.Time(i) }

// getLatest reads the live entry of key in txn; expired entries are absent.
// Expiry is judged at clock's time, read only for a key with a TTL.
func getLatest(txn *badger.Txn, key string, clock nower) (Entry, error) {
	item, err := txn.Get(keys.LatestKey(key))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return Entry{}, notFound(key)
	}
	if err != nil {
		return Entry{}, fmt.Errorf("vkv: get %q: %w", key, err)
	}
	e, err := decodeItem(item, key)
	if err != nil {
		return Entry{}, err
	}
	if !e.ExpiresAt.IsZero() {
		if e.Expired(clock.Now()) {
			return Entry{}, notFound(key)
		}
	}
	return e, nil
}

// decodeItem decodes a latest or history item into an Entry that owns its
// value.
func decodeItem(item *badger.Item, key string) (Entry, error) {
	// One copy of the stored record, whose tail becomes the value: cheaper
	// than decoding in item.Value's callback and copying the value again.
	b, err := item.ValueCopy(nil)
	if err != nil {
		return Entry{}, fmt.Errorf("vkv: key %q: %w", key, err)
	}
	r, err := keys.DecodeRecord(b)
	if err != nil {
		return Entry{}, fmt.Errorf("vkv: key %q: %w", key, err)
	}
	e := recordEntry(key, r)
	if !r.Tombstone {
		e.Value = r.Value[:len(r.Value):len(r.Value)]
	}
	return e, nil
}

// recordEntry converts r to an Entry without its value.
func recordEntry(key string, r keys.Record) Entry {
	e := Entry{Key: key, Version: Version(r.Version), CreateVersion: Version(r.CreateVersion), Deleted: r.Tombstone}
	if r.ExpiresAt != 0 {
		e.ExpiresAt = time.Unix(0, r.ExpiresAt)
	}
	return e
}

// GetAt returns key as it was at version v.
func (s *Store) GetAt(ctx context.Context, key string, v Version) (Entry, error) {
	if err := s.checkKey(key); err != nil {
		return Entry{}, err
	}
	if err := s.enter(ctx); err != nil {
		return Entry{}, err
	}
	defer s.exit()
	txn := s.db.NewTransaction(false)
	defer txn.Discard()
	// The committer publishes current just after its commit becomes
	// visible, so a reader may have seen a version above it; the snapshot's
	// change log has the last word.
	if uint64(v) > s.current.Load() {
		newest, err := newestVersion(txn)
		if err != nil {
			return Entry{}, err
		}
		if uint64(v) > newest {
			return Entry{}, &FutureVersionError{Requested: v, Newest: Version(max(newest, s.current.Load()))}
		}
	}
	// The compactor raises the mark before it deletes, so a mark read after
	// the snapshot was taken covers everything the snapshot misses.
	if oldest := s.compacted.Load(); uint64(v) < oldest {
		return Entry{}, &CompactedError{Key: key, Requested: v, Oldest: Version(oldest)}
	}
	prefix := keys.HistoryPrefix(key)
	it := txn.NewIterator(badger.IteratorOptions{Reverse: true, Prefix: prefix})
	defer it.Close()
	it.Seek(keys.HistoryKey(key, uint64(v)))
	if !it.Valid() {
		return Entry{}, notFound(key)
	}
	e, err := decodeItem(it.Item(), key)
	if err != nil {
		return Entry{}, err
	}
	if e.Deleted {
		return Entry{}, notFound(key)
	}
	return e, nil
}

// List returns a page of live entries under prefix after the key after,
// and the version of the snapshot it read them at.
func (s *Store) List(ctx context.Context, prefix, after string, limit int) (ListResult, error) {
	if err := s.enter(ctx); err != nil {
		return ListResult{}, err
	}
	defer s.exit()
	cur := s.current.Load()
	txn := s.db.NewTransaction(false)
	defer txn.Discard()
	v, err := snapshotVersion(txn, cur)
	if err != nil {
		return ListResult{}, err
	}
	entries, next, err := listLatest(ctx, txn, prefix, after, limit, s.opts.Clock.Now())
	if err != nil {
		return ListResult{}, err
	}
	return ListResult{Entries: entries, Next: next, Version: Version(v)}, nil
}

// latestSpan returns the latest-entry keys of a listing of prefix after
// the key after: the iterator prefix, and where to seek (the first key
// past after, or the prefix itself when after sorts before it).
func latestSpan(prefix, after string) (p, start []byte) {
	p = keys.LatestKey(prefix)
	if after >= prefix {
		return p, append(keys.LatestKey(after), 0)
	}
	return p, p
}

func listLatest(ctx context.Context, txn *badger.Txn, prefix, after string, limit int, now time.Time) ([]Entry, string, error) {
	if limit <= 0 {
		limit = DefaultListLimit
	}
	limit = min(limit, MaxListLimit)
	p, start := latestSpan(prefix, after)
	it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, PrefetchSize: min(limit, 100), Prefix: p})
	defer it.Close()
	var out []Entry
	for it.Seek(start); it.Valid(); it.Next() {
		if err := ctx.Err(); err != nil {
			return nil, "", err
		}
		item := it.Item()
		key, err := keys.UserKeyOfLatest(item.Key())
		if err != nil {
			return nil, "", err
		}
		if len(out) == limit {
			// One more live entry exists only if this one has not expired;
			// peek at its metadata without copying the value.
			e, err := decodeItem(item, key)
			if err != nil {
				return nil, "", err
			}
			if e.Expired(now) {
				continue
			}
			return out, out[len(out)-1].Key, nil
		}
		e, err := decodeItem(item, key)
		if err != nil {
			return nil, "", err
		}
		if e.Expired(now) {
			continue
		}
		out = append(out, e)
	}
	return out, "", nil
}

// History returns the kept versions of key, newest first.
func (s *Store) History(ctx context.Context, key string, limit int) ([]Entry, error) {
	if err := s.checkKey(key); err != nil {
		return nil, err
	}
	if err := s.enter(ctx); err != nil {
		return nil, err
	}
	defer s.exit()
	txn := s.db.NewTransaction(false)
	defer txn.Discard()
	prefix := keys.HistoryPrefix(key)
	it := txn.NewIterator(badger.IteratorOptions{Reverse: true, Prefix: prefix, PrefetchValues: true, PrefetchSize: 16})
	defer it.Close()
	out := []Entry{}
	for it.Seek(keys.HistoryKey(key, ^uint64(0))); it.Valid(); it.Next() {
		if limit > 0 && len(out) == limit {
			break
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		e, err := decodeItem(it.Item(), key)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// checkFreeSpace fails with ErrInsufficientStorage if dir's file system has
// less than min bytes free.
func checkFreeSpace(dir string, min int64) error {
	free, ok := freeBytes(dir)
	if ok && free < min {
		return fmt.Errorf("%w: %d MiB free, %d MiB required (Options.MinFreeSpace)", ErrInsufficientStorage, free>>20, min>>20)
	}
	return nil
}
