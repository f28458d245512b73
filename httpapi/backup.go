package httpapi

import (
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/vkvstore/vkv"
	"github.com/vkvstore/vkv/wire"
)

// BackupWriteTimeout bounds each write of a backup. The server's
// WriteTimeout would cut every backup that takes longer than it; the
// handler replaces it for the backup route with a deadline that it moves
// forward as it writes, so that a client that stops reading is still cut
// off.
const BackupWriteTimeout = 60 * time.Second

// backup serves GET /v1/backup: a consistent snapshot of the whole store, as
// the KV's vkv.Backupper writes it, streamed as application/octet-stream
// (501 not-implemented when the KV cannot write one). An error before the
// first byte is a problem; an error after it aborts the connection, so that
// the client sees a body that ends without the wire.HeaderBackupSize trailer
// rather than a short backup that looks whole.
func (h *handler) backup(w http.ResponseWriter, r *http.Request) {
	// A backup holds every key.
	if !h.allow(w, r, Need{Access: Read, Key: "", Prefix: true}) {
		return
	}
	b, ok := h.kv.(vkv.Backupper)
	if !ok {
		writeProblem(w, r, &wire.Problem{Type: wire.ProblemTypeBase + wire.ProblemNotImplemented, Title: "Not implemented",
			Status: http.StatusNotImplemented, Detail: "this server's store cannot write a backup"})
		return
	}
	bw := &backupWriter{w: w, rc: http.NewResponseController(w)}
	if r.Method == http.MethodHead {
		bw.start()
		return
	}
	err := b.Backup(r.Context(), bw)
	if err == nil {
		bw.start() // an empty store may write nothing
		w.Header().Set(wire.HeaderBackupSize, strconv.FormatInt(bw.n, 10))
		return
	}
	if !bw.started {
		h.writeError(w, r, err, errInfo{})
		return
	}
	h.cfg.logger.LogAttrs(r.Context(), slog.LevelWarn, "backup failed after the response started; aborting the connection",
		slog.String("request_id", requestID(r.Context())), slog.Int64("bytes", bw.n), slog.String("error", err.Error()))
	panic(http.ErrAbortHandler)
}

// backupWriter sends the response headers with the first byte of a backup
// and keeps moving the write deadline ahead.
type backupWriter struct {
	w        http.ResponseWriter
	rc       *http.ResponseController
	started  bool
	n        int64
	deadline time.Time
}

// start writes the headers of a successful backup response, once.
func (b *backupWriter) start() {
	if b.started {
		return
	}
	b.started = true
	hd := b.w.Header()
	hd.Set("Content-Type", "application/octet-stream")
	hd.Set("Content-Disposition", `attachment; filename="vkv.backup"`)
	hd.Set("Cache-Control", "no-store")
	hd.Set("Trailer", wire.HeaderBackupSize)
	b.extend()
	b.w.WriteHeader(http.StatusOK)
}

// extend moves the write deadline BackupWriteTimeout ahead, when half of it
// has passed.
func (b *backupWriter) extend() {
	now := time.Now()
	if b.deadline.Sub(now) > BackupWriteTimeout/2 {
		return
	}
	b.deadline = now.Add(BackupWriteTimeout)
	b.rc.SetWriteDeadline(b.deadline) // not supported by every writer (recorders); then there is none
}

// Write sends p as part of the body.
func (b *backupWriter) Write(p []byte) (int, error) {
	b.start()
	b.extend()
	n, err := b.w.Write(p)
	b.n += int64(n)
	return n, err
}
