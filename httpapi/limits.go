package httpapi

import (
	"net/http"

	"github.com/vkvstore/vkv/wire"
)

// serveLimits serves GET /v1/limits: the limits the handler checks requests
// with (see config.limitsFor), as a wire.Limits, so that clients check
// theirs with the same numbers before they send.
func (h *handler) serveLimits(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, wire.LimitsOf(h.limits, h.cfg.maxTxnBodySize))
}
