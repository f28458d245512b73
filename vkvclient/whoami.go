package vkvclient

import (
	"context"
	"net/http"

	"github.com/vkvstore/vkv/wire"
)

// Whoami asks the server who it takes the client's credentials for and
// what that principal may do (GET /v1/whoami): the principal's name and
// grants, or Authentication false when the server checks no credentials.
// GrantsKnown is false when the server's authorizer cannot list grants. The
// answer holds no credential. Credentials the server does not know give a
// *ProblemError with StatusCode 401; a server from before GET /v1/whoami,
// one with StatusCode 404. Grants is never nil on success.
func (c *Client) Whoami(ctx context.Context) (*wire.Whoami, error) {
	resp, err := c.do(ctx, call{method: http.MethodGet, path: "/v1/whoami", kind: opRead})
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var w wire.Whoami
	if err := decodeJSON(resp, &w); err != nil {
		return nil, err
	}
	if w.Grants == nil {
		w.Grants = []wire.Grant{}
	}
	return &w, nil
}
