// Command transfer moves money between accounts in vkv transactions: each
// transfer reads two balances and writes both in one vkv.Update, so that
// money is never created or lost, however many transfers run at once. An
// auditor sums every balance in a read-only snapshot (vkv.View) while they
// run, and the sum never moves.
//
//	go run ./examples/transfer                      # 5 accounts, 8 goroutines, in memory
//	go run ./examples/transfer -accounts 20 -workers 16 -transfers 500 -dir ./transfer-data
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vkvstore/vkv"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "transfer:", err)
		os.Exit(1)
	}
}

// Where the accounts and the transfer records live.
const (
	accountPrefix  = "accounts/"
	transferPrefix = "transfers/"
)

// Errors of transfer. Each one leaves the store as it was.
var (
	errInsufficientFunds = errors.New("insufficient funds")
	errUnknownAccount    = errors.New("unknown account")
	errInvalidTransfer   = errors.New("invalid transfer")
	errIDReused          = errors.New("transfer id already used for another transfer")
)

// record is what the store keeps of an applied transfer, under its id.
type record struct {
	From   string `json:"from"`
	To     string `json:"to"`
	Amount int64  `json:"amount"`
}

// transfer moves amount from one account to another, once: the transfer is
// recorded under id in the same transaction, so a caller that retries it
// after a timeout, with the same id, does not move the money twice. It
// returns the version at which the transfer was applied, now or before.
//
// Update turns every read of the function into a condition of the commit:
// if another transfer changed either balance (or recorded the same id)
// after the function read it, Update runs the function again on fresh
// values. An error the function returns is returned as is, and nothing is
// written.
func transfer(ctx context.Context, kv vkv.KV, id, from, to string, amount int64) (vkv.Version, error) {
	switch {
	case id == "":
		return 0, fmt.Errorf("%w: no id", errInvalidTransfer)
	case amount <= 0:
		return 0, fmt.Errorf("%w: amount %d is not positive", errInvalidTransfer, amount)
	case from == to:
		return 0, fmt.Errorf("%w: from and to are both %q", errInvalidTransfer, from)
	}
	want := record{From: from, To: to, Amount: amount}
	var applied vkv.Version // set when id was applied before
	v, err := kv.Update(ctx, func(tx vkv.Txn) error {
		applied = 0
		prior, err := tx.Get(transferPrefix + id)
		switch {
		case err == nil:
			var got record
			if err := json.Unmarshal(prior.Value, &got); err != nil || got != want {
				return fmt.Errorf("%w: %s was %s", errIDReused, id, prior.Value)
			}
			applied = prior.Version
			return nil // nothing to write
		case !errors.Is(err, vkv.ErrNotFound):
			return err
		}
		a, err := balance(tx, from)
		if err != nil {
			return err
		}
		b, err := balance(tx, to)
		if err != nil {
			return err
		}
		if a < amount {
			return fmt.Errorf("%w: %s has %d, not %d", errInsufficientFunds, from, a, amount)
		}
		rec, err := json.Marshal(want)
		if err != nil {
			return err
		}
		if err := tx.Put(accountPrefix+from, strconv.AppendInt(nil, a-amount, 10)); err != nil {
			return err
		}
		if err := tx.Put(accountPrefix+to, strconv.AppendInt(nil, b+amount, 10)); err != nil {
			return err
		}
		return tx.Put(transferPrefix+id, rec)
	})
	if err != nil {
		return 0, err
	}
	if applied != 0 {
		return applied, nil
	}
	return v, nil
}

// balance reads an account inside a transaction.
func balance(tx vkv.Txn, account string) (int64, error) {
	e, err := tx.Get(accountPrefix + account)
	if errors.Is(err, vkv.ErrNotFound) {
		return 0, fmt.Errorf("%w: %q", errUnknownAccount, account)
	}
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(string(e.Value), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("account %q holds %q: %w", account, e.Value, err)
	}
	return n, nil
}

// balances reads the given accounts from one snapshot of the store, so the
// balances are consistent with each other even while transfers commit.
func balances(ctx context.Context, kv vkv.Reader, accounts []string) (map[string]int64, error) {
	out := make(map[string]int64, len(accounts))
	err := kv.View(ctx, func(tx vkv.Txn) error {
		for _, a := range accounts {
			n, err := balance(tx, a)
			if err != nil {
				return err
			}
			out[a] = n
		}
		return nil
	})
	return out, err
}

// sum adds up balances.
func sum(b map[string]int64) int64 {
	var t int64
	for _, n := range b {
		t += n
	}
	return t
}

// open creates the accounts, each with initial, in one transaction.
func open(ctx context.Context, kv vkv.KV, accounts []string, initial int64) error {
	_, err := kv.Update(ctx, func(tx vkv.Txn) error {
		for _, a := range accounts {
			if err := tx.Expect(accountPrefix+a, 0); err != nil { // must not exist yet
				return err
			}
			if err := tx.Put(accountPrefix+a, strconv.AppendInt(nil, initial, 10)); err != nil {
				return err
			}
		}
		return nil
	})
	return err
}

// stats counts the outcomes of a run of random transfers.
type stats struct {
	applied, refused, audits atomic.Int64
}

// newRunID returns a prefix for the transfer ids of one run, so that runs
// on the same store do not reuse each other's ids.
func newRunID() string {
	return strconv.FormatUint(rand.Uint64(), 36)
}

// simulate runs workers goroutines, each making n random transfers between
// accounts, while an auditor checks that the total stays want. The ids of
// the transfers start with runID. It returns the first unexpected error, or
// a mismatch of the total.
func simulate(ctx context.Context, kv vkv.KV, accounts []string, workers, n int, want int64, runID string, st *stats) error {
	var (
		wg, auditor sync.WaitGroup
		errOnce     sync.Once
		firstErr    error
		done        = make(chan struct{})
	)
	fail := func(err error) { errOnce.Do(func() { firstErr = err }) }
	auditor.Add(1)
	go func() {
		defer auditor.Done()
		for {
			b, err := balances(ctx, kv, accounts)
			if err != nil {
				fail(err)
				return
			}
			st.audits.Add(1)
			if got := sum(b); got != want {
				fail(fmt.Errorf("audit: the accounts hold %d in total, not %d: %v", got, want, b))
				return
			}
			select {
			case <-done:
				return
			default:
			}
		}
	}()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range n {
				f := rand.IntN(len(accounts))
				from, to := accounts[f], accounts[(f+1+rand.IntN(len(accounts)-1))%len(accounts)]
				amount := 1 + rand.Int64N(want/int64(len(accounts)))
				id := fmt.Sprintf("%s-w%d-%d", runID, w, i)
				err := vkv.ErrConflict
				for try := 0; errors.Is(err, vkv.ErrConflict) && try < 10; try++ {
					// Update gives up after many lost races; the id
					// makes trying again safe.
					_, err = transfer(ctx, kv, id, from, to, amount)
				}
				switch {
				case err == nil:
					st.applied.Add(1)
				case errors.Is(err, errInsufficientFunds):
					st.refused.Add(1)
				default:
					fail(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(done)
	auditor.Wait()
	return firstErr
}

// run is the command.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("transfer", flag.ContinueOnError)
	nAccounts := fs.Int("accounts", 5, "number of accounts")
	initial := fs.Int64("initial", 1000, "initial balance of each account")
	workers := fs.Int("workers", 8, "concurrent goroutines making transfers")
	n := fs.Int("transfers", 200, "transfers per goroutine")
	dir := fs.String("dir", "", "`directory` of the store (default: in memory)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *nAccounts < 2 || *initial < 1 {
		return errors.New("need at least 2 accounts and a positive balance")
	}
	s, err := vkv.Open(*dir, &vkv.Options{InMemory: *dir == "", NoSync: true})
	if err != nil {
		return err
	}
	defer s.Close()

	accounts := make([]string, *nAccounts)
	for i := range accounts {
		accounts[i] = fmt.Sprintf("acct-%02d", i+1)
	}
	var want int64
	switch err := open(ctx, s, accounts, *initial); {
	case err == nil:
		want = *initial * int64(*nAccounts)
		fmt.Fprintf(stdout, "%d accounts with %d each: %d in total\n", *nAccounts, *initial, want)
	case errors.Is(err, vkv.ErrConflict):
		// A -dir used before: go on with the accounts it holds.
		b, err := balances(ctx, s, accounts)
		if err != nil {
			return fmt.Errorf("the accounts of %s: %w", *dir, err)
		}
		want = sum(b)
		fmt.Fprintf(stdout, "%d accounts already there: %d in total\n", *nAccounts, want)
	default:
		return err
	}

	// A transfer, the same transfer retried, and one that cannot be made.
	v, err := transfer(ctx, s, "demo-1", accounts[0], accounts[1], 250)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "transfer demo-1: 250 from %s to %s -> version %d\n", accounts[0], accounts[1], v)
	v2, err := transfer(ctx, s, "demo-1", accounts[0], accounts[1], 250)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "transfer demo-1 retried -> version %d again, not applied twice\n", v2)
	_, err = transfer(ctx, s, "demo-2", accounts[0], accounts[1], 10*want)
	fmt.Fprintf(stdout, "transfer demo-2: %d from %s -> %v\n", 10*want, accounts[0], err)
	b, err := balances(ctx, s, accounts)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "balances: %s %d, %s %d\n\n", accounts[0], b[accounts[0]], accounts[1], b[accounts[1]])

	var st stats
	start := time.Now()
	if err := simulate(ctx, s, accounts, *workers, *n, want, newRunID(), &st); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d goroutines x %d random transfers in %v: %d applied, %d refused for insufficient funds\n",
		*workers, *n, time.Since(start).Round(time.Millisecond), st.applied.Load(), st.refused.Load())
	b, err = balances(ctx, s, accounts)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d audits during the run, each from one snapshot: every one summed to %d\n", st.audits.Load(), want)
	fmt.Fprint(stdout, "final balances:")
	for _, a := range accounts {
		fmt.Fprintf(stdout, " %s=%d", a, b[a])
	}
	fmt.Fprintf(stdout, "\ntotal %d\n", sum(b))
	if sum(b) != want {
		return fmt.Errorf("the total is %d, not %d", sum(b), want)
	}
	return nil
}
