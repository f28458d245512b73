package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vkvstore/vkv"
)

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

// Write writes p to the underlying writer.
func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// runBackup is "vkv backup".
func runBackup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags(spec{name: "backup", args: "",
		doc: "Write a backup of the server's whole store to stdout, or to FILE with -out, through\n" +
			"GET /v1/backup: one consistent snapshot, taken online while writes go on, holding every\n" +
			"key with its kept history, the change log and the version counter. The exit status is 0\n" +
			"only for a complete backup; with -out a failed backup leaves no file behind (to stdout,\n" +
			"check the exit status). Restore it with vkv restore.",
		example: "vkv backup > vkv.backup"}, stderr)
	var cf clientFlags
	cf.register(fs, false)
	out := fs.String("out", "", "write the backup to `FILE` (replaced only once the backup is complete) instead of stdout")
	if _, err := fs.parse(args, 0, 0); err != nil {
		return err
	}
	if *out == "" && isTerminal(stdout) {
		return fs.usageError("refusing to write a backup to a terminal: redirect stdout or give -out FILE")
	}
	s, err := cf.connect(ctx, fs)
	if err != nil {
		return err
	}
	defer s.close()
	bar := newProgress(ctx, stderr, "backup", -1)
	if *out == "" {
		err := s.c.Backup(ctx, bar.writer(stdout))
		bar.done()
		if err != nil {
			return s.fail(ctx, err, stderr)
		}
		return nil
	}

	start := time.Now()
	f, err := os.CreateTemp(filepath.Dir(*out), "."+filepath.Base(*out)+".tmp-*")
	if err != nil {
		return err
	}
	done := false
	defer func() {
		if !done {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	cw := &countingWriter{w: f}
	err = s.c.Backup(ctx, bar.writer(cw))
	bar.done()
	if err != nil {
		return s.fail(ctx, err, stderr)
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), *out); err != nil {
		return err
	}
	done = true
	_, err = fmt.Fprintf(stdout, "wrote %s to %s in %s\n", formatBytes(cw.n), *out, since(start))
	return err
}

// runRestore is "vkv restore".
func runRestore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags(spec{name: "restore", args: "-dir DIR [FILE]",
		doc: "Restore a backup written by vkv backup from FILE (or stdin when FILE is omitted or -)\n" +
			"into DIR, which must be empty or not exist, then print the store's version. Serve the\n" +
			"result with vkv serve -dir DIR; it goes on numbering versions where the backup stopped.\n" +
			"\n" +
			"Restore is offline: it writes a new store directory and talks to no server. A server\n" +
			"keeps its directory locked, and a backup cannot be loaded into a live store: its\n" +
			"version counter and history would go back under clients and watchers that have seen\n" +
			"newer versions. To move a server to a backup, restore into a new directory, stop the\n" +
			"server and start it with -dir on the restored directory.",
		example: "vkv restore -dir ./vkv-restored < vkv.backup"}, stderr)
	dir := fs.String("dir", "", "empty or new `directory` to restore into (required)")
	encKeyFile := fs.String("encryption-key-file", "", "encrypt the new store with the AES key in this `file` (hex, as vkv serve -encryption-key-file)")
	pos, err := fs.parse(args, 0, 1)
	if err != nil {
		return err
	}
	if *dir == "" {
		return fs.usageError("-dir is required")
	}
	in, name := envOf(ctx).stdin, "stdin"
	if len(pos) == 1 && pos[0] != "-" {
		f, err := os.Open(pos[0])
		if err != nil {
			return err
		}
		defer f.Close()
		in, name = f, pos[0]
	} else if isTerminal(in) {
		return fs.usageError("refusing to read a backup from a terminal: redirect stdin or give FILE")
	}

	// Restore refuses a directory that holds anything; check first, so that
	// a failed restore can remove what it wrote and only that.
	entries, err := os.ReadDir(*dir)
	existed := err == nil
	switch {
	case err != nil && !errors.Is(err, os.ErrNotExist):
		return err
	case len(entries) > 0:
		return fmt.Errorf("%s is not empty: restore into an empty or new directory", *dir)
	}
	var ropts *vkv.Options
	if *encKeyFile != "" {
		key, err := readEncryptionKey(*encKeyFile)
		if err != nil {
			return fs.usageError("%v", err)
		}
		ropts = &vkv.Options{EncryptionKey: key}
	}
	start := time.Now()
	bar := newProgress(ctx, stderr, "restore", sizeOf(in))
	fr := &countingReader{r: bar.reader(in)}
	err = vkv.Restore(*dir, fr, ropts)
	bar.done()
	if err != nil {
		cleanDir(*dir, existed)
		return fmt.Errorf("restoring from %s: %s (%s removed again)", name, strings.TrimPrefix(err.Error(), "vkv: restore: "), *dir)
	}
	// Open the result once: it checks the store and tells its version.
	st, err := vkv.Open(*dir, ropts)
	if err != nil {
		cleanDir(*dir, existed)
		return fmt.Errorf("the restored store in %s does not open: %w (removed again)", *dir, err)
	}
	v, err := st.CurrentVersion(ctx)
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "restored %s into %s in %s; the store is at version %d\n", formatBytes(fr.n), *dir, since(start), v)
	return err
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

// Read reads from the underlying reader.
func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// cleanDir removes what a failed restore wrote into dir: dir itself when
// it did not exist before, else its contents.
func cleanDir(dir string, existed bool) {
	if !existed {
		os.RemoveAll(dir)
		return
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		os.RemoveAll(filepath.Join(dir, e.Name()))
	}
}
