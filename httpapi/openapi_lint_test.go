package httpapi_test

import (
	"slices"
	"strings"
	"testing"
)

// TestOpenAPINoUnusedComponents is the no-unused-components rule of the
// OpenAPI linters (Redocly's, Spectral's), which CI does not run: every
// component of docs/openapi.yaml is the target of a $ref.
func TestOpenAPINoUnusedComponents(t *testing.T) {
	d := loadOpenAPI(t)
	used := map[string]bool{}
	walk(d.root, "#", func(at string, m map[string]any) {
		if ref, ok := m["$ref"].(string); ok {
			used[ref] = true
		}
	})
	comps, _ := d.root["components"].(map[string]any)
	var unused []string
	for kind, v := range comps {
		if kind == "securitySchemes" { // used by name in security, not by $ref
			continue
		}
		m, _ := v.(map[string]any)
		for name := range m {
			if ref := "#/components/" + kind + "/" + name; !used[ref] {
				unused = append(unused, ref)
			}
		}
	}
	slices.Sort(unused)
	if len(unused) > 0 {
		t.Errorf("components of docs/openapi.yaml never referenced:\n%s", strings.Join(unused, "\n"))
	}
}
