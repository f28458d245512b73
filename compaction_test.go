package vkv

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/vkvstore/vkv/internal/keys"
)

// persistedMark reads the compaction mark as stored in Badger.
func persistedMark(t testing.TB, db *badger.DB) uint64 {
	t.Helper()
	var mark uint64
	err := db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(keys.CompactedMark)
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		return item.Value(func(b []byte) error {
			mark = binary.BigEndian.Uint64(b)
			return nil
		})
	})
	if err != nil {
		t.Fatalf("read the compaction mark: %v", err)
	}
	return mark
}

// TestCompactionMarkNeverGoesBack runs Compact from many goroutines while
// the background pass runs often and a writer keeps writing one key, and
// checks that the mark, in memory and on disk, never decreases, that every
// GetAt below the mark is ErrCompacted and every one at or above it the
// right entry (never a wrong ErrNotFound), and that reopening keeps the mark.
func TestCompactionMarkNeverGoesBack(t *testing.T) {
	dir := t.TempDir()
	opts := &Options{NoSync: true, HistoryVersions: 8, compactEvery: time.Millisecond}
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	// The writer: "k" at versions it records, so that the right answer of
	// GetAt("k", v) is known: the newest write at or below v.
	var (
		mu      sync.Mutex
		written []Version // versions of "k", ascending
	)
	first, err := s.Put(ctx, "k", []byte("0"))
	if err != nil {
		t.Fatal(err)
	}
	written = append(written, first)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 1; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			// Another key moves the store on between writes of "k", so that
			// GetAt of "k" at a version between two of its writes matters.
			if _, err := s.Put(ctx, "other", nil); err != nil {
				t.Error(err)
				return
			}
			v, err := s.Put(ctx, "k", fmt.Appendf(nil, "%d", i))
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			written = append(written, v)
			mu.Unlock()
		}
	})
	// The compactors.
	for range 8 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if err := s.Compact(ctx); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	// The watchers of the mark, in memory and on disk.
	var decreases atomic.Int64
	var highest atomic.Uint64
	wg.Go(func() {
		var lastMem, lastDisk uint64
		for {
			select {
			case <-stop:
				return
			default:
			}
			mem := s.compacted.Load()
			disk := persistedMark(t, s.db)
			if mem < lastMem || disk < lastDisk {
				decreases.Add(1)
				t.Errorf("the compaction mark went back: memory %d -> %d, disk %d -> %d", lastMem, mem, lastDisk, disk)
			}
			lastMem, lastDisk = max(lastMem, mem), max(lastDisk, disk)
			highest.Store(lastMem)
		}
	})
	// The readers.
	var below, above atomic.Int64
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				mu.Lock()
				vs := written
				mu.Unlock()
				// A version just below the mark: the one most at risk.
				mark := Version(s.compacted.Load())
				for _, v := range []Version{mark - 1, mark, mark + 1, mark + 2} {
					if v < first {
						continue
					}
					e, err := s.GetAt(ctx, "k", v)
					switch {
					case errors.Is(err, ErrCompacted):
						below.Add(1)
						continue
					case errors.Is(err, ErrFutureVersion):
						continue
					case err != nil:
						t.Errorf("GetAt(k, %d) with the mark at %d = %v, want the entry or ErrCompacted", v, mark, err)
						return
					}
					if v < mark {
						t.Errorf("GetAt(k, %d) answered below the mark %d read before it", v, mark)
					}
					above.Add(1)
					// The newest write at or below v, if the writer recorded it.
					var want Version
					for _, w := range vs {
						if w <= v {
							want = w
						}
					}
					if vs[len(vs)-1] >= v && e.Version != want {
						t.Errorf("GetAt(k, %d) = version %d, want %d", v, e.Version, want)
					}
				}
			}
		})
	}
	// Run until the writer has gone well past the window many times.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		mu.Lock()
		n := len(written)
		mu.Unlock()
		if n >= 500 || time.Now().After(deadline) {
			break
		}
	}
	close(stop)
	wg.Wait()
	t.Logf("versions %d, mark %d, GetAt compacted %d, answered %d", s.current.Load(), highest.Load(), below.Load(), above.Load())
	if below.Load() == 0 || above.Load() == 0 {
		t.Errorf("the readers never met both sides of the mark")
	}
	final := s.compacted.Load()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := s.compacted.Load(); got < final {
		t.Errorf("after reopen the mark is %d, below %d before Close", got, final)
	}
}
