// Package docs holds the documents of the vkv HTTP API that are built into
// the server: the OpenAPI document, which the handler of package httpapi
// serves at GET /v1/openapi.yaml. The Markdown guides beside it (http.md,
// problems.md, operations.md) are for reading only.
package docs

import _ "embed"

// OpenAPI is docs/openapi.yaml: the OpenAPI 3.1 document of the vkv HTTP
// API (version 1), every route, header and problem type. The httpapi tests
// fail when a route of the handler is missing from it or answers otherwise
// than it says.
//
//go:embed openapi.yaml
var OpenAPI string
