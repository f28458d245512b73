package vkv_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"sync"
	"testing"
	"time"

	"github.com/vkvstore/vkv"
)

// TestLockExclusive: of many concurrent acquirers exactly one holds the lock
// at a time, tokens grow across holders, and an expired lock can be taken
// over, not a nanosecond before its TTL runs out, while its old holder can no
// longer refresh or release it. The store runs on a fake clock.
func TestLockExclusive(t *testing.T) {
	clock := newFakeClock()
	s := openStore(t, "", &vkv.Options{InMemory: true, Clock: clock})
	ctx := context.Background()
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		winners []*vkv.Lock
	)
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l, err := vkv.AcquireLock(ctx, s, "tasks/report", []byte(fmt.Sprint("worker-", i)), time.Minute)
			var ce *vkv.ConflictError
			switch {
			case err == nil:
				mu.Lock()
				winners = append(winners, l)
				mu.Unlock()
			case errors.As(err, &ce):
				if ce.Current == nil || len(ce.Current.Value) == 0 {
					t.Errorf("a refused acquirer is not told the holder: %+v", ce)
				}
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if len(winners) != 1 {
		t.Fatalf("%d acquirers hold the lock, want 1", len(winners))
	}
	first := winners[0]
	if err := first.Refresh(ctx); err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	if err := first.Release(ctx); err != nil {
		t.Fatalf("Release: %v", err)
	}
	if err := first.Release(ctx); err != nil {
		t.Fatalf("second Release: %v, want nil (releasing a released lock does nothing)", err)
	}
	if err := first.Refresh(ctx); !errors.Is(err, vkv.ErrLockLost) {
		t.Fatalf("Refresh after Release: %v, want ErrLockLost", err)
	}

	short, err := vkv.AcquireLock(ctx, s, "tasks/report", []byte("short-lived"), 20*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if short.Token() <= first.Token() {
		t.Fatalf("token %d of the second holder is not above %d", short.Token(), first.Token())
	}
	clock.Advance(20*time.Millisecond - time.Nanosecond)
	_, err = vkv.AcquireLock(ctx, s, "tasks/report", []byte("early"), time.Minute)
	var ce *vkv.ConflictError
	if !errors.As(err, &ce) || ce.Current == nil || string(ce.Current.Value) != "short-lived" {
		t.Fatalf("acquire a nanosecond before the lock expires: %v, want a conflict naming %q", err, "short-lived")
	}
	if err := short.Refresh(ctx); err != nil {
		t.Fatalf("Refresh a nanosecond before the lock expires: %v", err)
	}
	clock.Advance(20*time.Millisecond - time.Nanosecond)
	if _, err := vkv.AcquireLock(ctx, s, "tasks/report", []byte("early"), time.Minute); !errors.As(err, &ce) {
		t.Fatalf("acquire a nanosecond before the refreshed lock expires: %v, want a conflict", err)
	}
	clock.Advance(time.Nanosecond)
	next, err := vkv.AcquireLock(ctx, s, "tasks/report", []byte("next"), time.Minute)
	if err != nil {
		t.Fatalf("acquire after expiry: %v", err)
	}
	if next.Token() <= short.Token() {
		t.Fatalf("token %d after expiry is not above %d", next.Token(), short.Token())
	}
	if err := short.Refresh(ctx); !errors.Is(err, vkv.ErrLockLost) {
		t.Fatalf("Refresh of an expired lock: %v, want ErrLockLost", err)
	}
	err = short.Release(ctx)
	if !errors.Is(err, vkv.ErrLockLost) || !errors.As(err, &ce) {
		t.Fatalf("Release of an expired lock: %v, want ErrLockLost and the *vkv.ConflictError", err)
	}
	if want := fmt.Sprintf(`vkv: lock lost: key "tasks/report" is at version %d, not %d: the lease ran out and another holder took it, or another writer changed the key`, next.Token(), ce.Expected); err.Error() != want {
		t.Errorf("Release of an expired lock: %q, want %q (the prefix once)", err, want)
	}
	if _, err := vkv.AcquireLock(ctx, s, "x", nil, 0); !errors.Is(err, vkv.ErrInvalidTTL) {
		t.Fatalf("AcquireLock without a ttl: %v, want ErrInvalidTTL", err)
	}
}

// ExampleAcquireLock is the concurrent-task scenario: a task runs only when
// no other run of it is in progress; a second start is refused with a
// conflict that names the running holder.
func ExampleAcquireLock() {
	ctx := context.Background()
	s, err := vkv.Open("", &vkv.Options{InMemory: true})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	run, err := vkv.AcquireLock(ctx, s, "tasks/nightly-report", []byte("run-1"), 10*time.Minute)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("run-1 started with fencing token", run.Token())

	_, err = vkv.AcquireLock(ctx, s, "tasks/nightly-report", []byte("run-2"), 10*time.Minute)
	var ce *vkv.ConflictError
	if errors.As(err, &ce) {
		fmt.Printf("run-2 refused: %s is running\n", ce.Current.Value)
	}

	run.Release(ctx)
	again, _ := vkv.AcquireLock(ctx, s, "tasks/nightly-report", []byte("run-3"), 10*time.Minute)
	fmt.Println("run-3 started with fencing token", again.Token())
	// Output:
	// run-1 started with fencing token 1
	// run-2 refused: run-1 is running
	// run-3 started with fencing token 3
}
