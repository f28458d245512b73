package vkvclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"

	"github.com/vkvstore/vkv"
	"github.com/vkvstore/vkv/wire"
)

var _ vkv.Backupper = (*Client)(nil)

// Backup writes a backup of the server's whole store to w, read from
// GET /v1/backup: a consistent snapshot taken while writes go on, in the
// format vkv.Restore reads. It returns nil only for a complete backup: the
// server confirms the size in the Vkv-Backup-Size trailer once its backup
// has finished, and a body cut short, or one that ends without the trailer
// the response announced, is an error. (A proxy between client and server
// must therefore pass HTTP trailers on.) On an error w may hold part of a
// backup, which must not be restored.
//
// A server whose store cannot write a backup, or that has no backup route,
// gives a *ProblemError matching errors.ErrUnsupported.
func (c *Client) Backup(ctx context.Context, w io.Writer) error {
	resp, err := c.do(ctx, call{method: http.MethodGet, path: "/v1/backup", kind: opRead})
	if err != nil {
		var pe *ProblemError
		if errors.As(err, &pe) && (pe.StatusCode == http.StatusNotImplemented || pe.StatusCode == http.StatusNotFound) {
			pe.Err = errors.ErrUnsupported
		}
		return err
	}
	defer resp.Body.Close()
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "application/octet-stream" {
		return &ProblemError{StatusCode: resp.StatusCode, Problem: wire.Problem{Status: resp.StatusCode,
			Title: "Not a backup", Detail: fmt.Sprintf("GET /v1/backup answered with Content-Type %q", resp.Header.Get("Content-Type"))}}
	}
	n, err := io.Copy(w, resp.Body)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		return fmt.Errorf("vkvclient: backup cut off after %d bytes: %w", n, err)
	}
	if _, announced := resp.Trailer[http.CanonicalHeaderKey(wire.HeaderBackupSize)]; !announced {
		return nil // a server or proxy that does not announce the trailer
	}
	size := resp.Trailer.Get(wire.HeaderBackupSize)
	if size == "" {
		return fmt.Errorf("vkvclient: backup incomplete: the body ended after %d bytes without the %s trailer", n, wire.HeaderBackupSize)
	}
	if want, err := strconv.ParseInt(size, 10, 64); err != nil || want != n {
		return fmt.Errorf("vkvclient: backup incomplete: received %d bytes, the server sent %s: %s", n, wire.HeaderBackupSize, size)
	}
	return nil
}
