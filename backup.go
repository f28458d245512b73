package vkv

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/pb"
	"google.golang.org/protobuf/proto"
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
// Badger's backup format (Badger's DB.Backup), closed by an end marker that
// Restore requires, so that a backup cut short is refused rather than
// restored in part. It stops with ctx's error when ctx ends.
func (s *Store) Backup(ctx context.Context, w io.Writer) error {
	if err := s.enter(ctx); err != nil {
		return err
	}
	defer s.exit()
	cw := &countingWriter{ctx: ctx, w: w}
	stream := s.db.NewStream()
	stream.LogPrefix = "vkv.Backup"
	if _, err := stream.Backup(cw, 0); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("vkv: backup: %w", err)
	}
	end, err := proto.Marshal(&pb.KVList{Kv: []*pb.KV{{Key: backupEndKey, Value: binary.BigEndian.AppendUint64(nil, uint64(cw.n)), Version: 1}}})
	if err != nil {
		return fmt.Errorf("vkv: backup: %w", err)
	}
	if _, err := cw.Write(binary.LittleEndian.AppendUint64(nil, uint64(len(end)))); err != nil {
		return fmt.Errorf("vkv: backup: %w", err)
	}
	if _, err := cw.Write(end); err != nil {
		return fmt.Errorf("vkv: backup: %w", err)
	}
	return nil
}

// backupEndKey names the end marker: the last frame of a backup, holding
// the number of bytes before it. No key of the store's layout starts with 0.
var backupEndKey = []byte("\x00vkv-backup-end")

// maxBackupFrame bounds one frame of a backup; Badger's stream writes frames
// of a few megabytes.
const maxBackupFrame = 256 << 20

// countingWriter counts what it writes and fails once ctx is done, which
// stops Badger's stream.
type countingWriter struct {
	ctx context.Context
	w   io.Writer
	n   int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// ErrNotEmpty is returned by Restore for a directory that already holds
// files.
var ErrNotEmpty = errors.New("vkv: directory is not empty")

// ErrBadBackup is returned by Restore for input that is not a whole backup
// written by Backup: damaged, cut short, or followed by other data.
var ErrBadBackup = errors.New("vkv: not a complete backup")

// Restore loads a backup written by Backup into dir, which must be empty or
// not exist, with the Badger settings opts would give it. Open the store
// afterwards with the same options. The restored store continues the
// version numbering of the one that was backed up. A damaged or incomplete
// backup gives an error matching ErrBadBackup; dir may then hold part of it
// and should be removed.
func Restore(dir string, r io.Reader, opts *Options) (err error) {
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
	defer func() {
		// Every frame is checked before Badger reads it; this is a last
		// guard for what the checks miss.
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: %v", ErrBadBackup, p)
		}
		if cerr := db.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("vkv: restore: %w", cerr)
		}
	}()
	fr := &frameReader{r: bufio.NewReaderSize(r, 64<<10)}
	if err := db.Load(fr, 256); err != nil {
		if fr.err != nil {
			return fr.err
		}
		return fmt.Errorf("vkv: restore: %w", err)
	}
	if fr.err != nil {
		return fr.err
	}
	if !fr.ended {
		return fmt.Errorf("%w: it ends without its end marker", ErrBadBackup)
	}
	return nil
}

// frameReader passes a backup through to Badger's Load one checked frame at
// a time: a bounded length, a frame that decodes, and the end marker, which
// it keeps to itself and after which nothing may follow.
type frameReader struct {
	r     *bufio.Reader
	buf   []byte // the checked frame, header included, not yet read
	n     int64  // bytes passed on so far
	ended bool
	err   error
}

func (f *frameReader) Read(p []byte) (int, error) {
	if f.err != nil {
		return 0, f.err
	}
	if len(f.buf) == 0 {
		if f.ended {
			return 0, io.EOF
		}
		if err := f.next(); err != nil {
			f.err = err
			return 0, err
		}
		if len(f.buf) == 0 {
			return 0, io.EOF // the end marker
		}
	}
	n := copy(p, f.buf)
	f.buf = f.buf[n:]
	f.n += int64(n)
	return n, nil
}

// next reads and checks one frame.
func (f *frameReader) next() error {
	var hdr [8]byte
	if _, err := io.ReadFull(f.r, hdr[:]); err != nil {
		if err == io.EOF {
			return fmt.Errorf("%w: it ends without its end marker", ErrBadBackup)
		}
		return fmt.Errorf("%w: %v", ErrBadBackup, err)
	}
	sz := binary.LittleEndian.Uint64(hdr[:])
	if sz > maxBackupFrame {
		return fmt.Errorf("%w: a frame of %d bytes", ErrBadBackup, sz)
	}
	frame := make([]byte, 8+sz)
	copy(frame, hdr[:])
	if _, err := io.ReadFull(f.r, frame[8:]); err != nil {
		return fmt.Errorf("%w: cut short: %v", ErrBadBackup, err)
	}
	var list pb.KVList
	if err := proto.Unmarshal(frame[8:], &list); err != nil {
		return fmt.Errorf("%w: %v", ErrBadBackup, err)
	}
	if len(list.Kv) == 1 && string(list.Kv[0].Key) == string(backupEndKey) {
		v := list.Kv[0].Value
		if len(v) != 8 || int64(binary.BigEndian.Uint64(v)) != f.n {
			return fmt.Errorf("%w: the end marker does not match the data", ErrBadBackup)
		}
		if _, err := f.r.ReadByte(); err != io.EOF {
			return fmt.Errorf("%w: data after the end marker", ErrBadBackup)
		}
		f.ended = true
		return nil
	}
	f.buf = frame
	return nil
}
