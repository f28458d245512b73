package vkv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/dgraph-io/badger/v4"
)

// Backupper is implemented by KVs that can write a backup of themselves;
// *Store implements it. The HTTP handler serves it at GET /v1/backup.
type Backupper interface {
	Backup(ctx context.Context, w io.Writer) error
}

var _ Backupper = (*Store)(nil)

// Backup writes a consistent snapshot of the whole store to w, online:
// writes go on while it runs and are not in the snapshot. The snapshot holds
// every key with its history, the change log and the version counter, in
// Badger's backup format (Badger's DB.Backup); Restore reads it back.
// It stops with ctx's error when ctx ends.
func (s *Store) Backup(ctx context.Context, w io.Writer) error {
	if err := s.enter(ctx); err != nil {
		return err
	}
	defer s.inflight.Done()
	stream := s.db.NewStream()
	stream.LogPrefix = "vkv.Backup"
	if _, err := stream.Backup(&ctxWriter{ctx: ctx, w: w}, 0); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("vkv: backup: %w", err)
	}
	return nil
}

// ctxWriter fails writes once ctx is done, which stops Badger's stream.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c *ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}

// ErrNotEmpty is returned by Restore for a directory that already holds
// files.
var ErrNotEmpty = errors.New("vkv: directory is not empty")

// Restore loads a backup written by Backup into dir, which must be empty or
// not exist, with the Badger settings opts would give it. Open the store
// afterwards with the same options. The restored store continues the
// version numbering of the one that was backed up.
func Restore(dir string, r io.Reader, opts *Options) error {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.InMemory {
		return errors.New("vkv: Restore needs a directory, not an in-memory store")
	}
	o = o.withDefaults()
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return fmt.Errorf("%w: %s", ErrNotEmpty, dir)
	} else if err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("vkv: restore: %w", err)
	}
	db, err := badger.Open(badgerOptions(dir, o, &loggerAdapter{l: o.Logger}))
	if err != nil {
		return fmt.Errorf("vkv: restore: %w", err)
	}
	if err := db.Load(r, 256); err != nil {
		db.Close()
		return fmt.Errorf("vkv: restore: %w", err)
	}
	if err := db.Close(); err != nil {
		return fmt.Errorf("vkv: restore: %w", err)
	}
	return nil
}
