package httpapi

import (
	"go/ast"
	"go/parser"
	"go/printer"
	"go/token"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestAuthorized checks which Authorization headers pass: only the bearer
// token itself (the scheme is case-insensitive, RFC 9110 §11.1), never a
// prefix, an extension, another scheme or another case of the token.
func TestAuthorized(t *testing.T) {
	const tok = "s3cret-Token"
	a := newTokenAuthorizer(tok)
	tests := []struct {
		auth string
		ok   bool
	}{
		{"Bearer " + tok, true},
		{"bearer " + tok, true},
		{"BEARER  " + tok + " ", true},
		{"", false},
		{"Bearer", false},
		{"Bearer ", false},
		{"Bearer " + tok[:len(tok)-1], false},
		{"Bearer " + tok + "x", false},
		{"Bearer " + strings.ToLower(tok), false},
		{"Basic " + tok, false},
		{tok, false},
		{"Bearer\t" + tok, false},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/v1/kv/a", nil)
		if tt.auth != "" {
			r.Header.Set("Authorization", tt.auth)
		}
		p, err := a.Authenticate(r)
		if got := err == nil && p != nil; got != tt.ok {
			t.Errorf("Authorization %q: authenticated = %v (%v), want %v", tt.auth, got, err, tt.ok)
		}
	}
	if open := New(nil, WithToken("")).(*handler); open.cfg.authorizer != nil {
		t.Errorf("WithToken(\"\") must turn authentication off")
	}
}

// TestTokenComparedInConstantTime reads the source of the token check and
// holds it to the rule: the token sent and the server's are each hashed
// with SHA-256 and the two digests, of fixed length, compared with
// crypto/subtle.ConstantTimeCompare, so that neither the content nor the
// length of the token leaks through timing. No other comparison may touch
// the token (except the check for an empty one, which is configuration).
func TestTokenComparedInConstantTime(t *testing.T) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "authz.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var authorized, newFn *ast.FuncDecl
	for _, d := range f.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok {
			switch fd.Name.Name {
			case "Authenticate":
				authorized = fd
			case "newTokenAuthorizer":
				newFn = fd
			}
		}
	}
	if authorized == nil || newFn == nil {
		t.Fatal("authz.go has no func Authenticate or newTokenAuthorizer")
	}
	calls := func(fn *ast.FuncDecl) map[string][]*ast.CallExpr {
		m := map[string][]*ast.CallExpr{}
		ast.Inspect(fn, func(n ast.Node) bool {
			if c, ok := n.(*ast.CallExpr); ok {
				if sel, ok := c.Fun.(*ast.SelectorExpr); ok {
					if x, ok := sel.X.(*ast.Ident); ok {
						m[x.Name+"."+sel.Sel.Name] = append(m[x.Name+"."+sel.Sel.Name], c)
					}
				}
			}
			return true
		})
		return m
	}
	ac, nc := calls(authorized), calls(newFn)
	if len(ac["sha256.Sum256"]) != 1 || len(nc["sha256.Sum256"]) != 1 {
		t.Errorf("the sent token and the server's must each be hashed with sha256.Sum256 (authorized: %d, New: %d)",
			len(ac["sha256.Sum256"]), len(nc["sha256.Sum256"]))
	}
	cmps := ac["subtle.ConstantTimeCompare"]
	if len(cmps) != 1 {
		t.Fatalf("authorized must compare with subtle.ConstantTimeCompare once, does %d times", len(cmps))
	}
	for _, arg := range cmps[0].Args {
		if sl, ok := arg.(*ast.SliceExpr); !ok || sl.Low != nil || sl.High != nil {
			t.Errorf("ConstantTimeCompare argument %s is not a whole digest array sliced ([:])", exprString(fset, arg))
		}
	}
	for _, banned := range []string{"bytes.Equal", "strings.Compare", "strings.EqualFold", "strings.HasPrefix", "bytes.Compare"} {
		for _, c := range ac[banned] {
			if strings.Contains(strings.ToLower(exprString(fset, c)), "tok") {
				t.Errorf("authorized compares the token with %s: %s", banned, exprString(fset, c))
			}
		}
	}
	ast.Inspect(authorized, func(n ast.Node) bool {
		be, ok := n.(*ast.BinaryExpr)
		if !ok || (be.Op != token.EQL && be.Op != token.NEQ) {
			return true
		}
		s := exprString(fset, be)
		if strings.Contains(strings.ToLower(s), "tok") && !strings.HasSuffix(s, `""`) && !strings.Contains(s, "ConstantTimeCompare") {
			t.Errorf("authorized compares the token with %s: %s", be.Op, s)
		}
		return true
	})
}

func exprString(fset *token.FileSet, n ast.Node) string {
	var b strings.Builder
	if err := printer.Fprint(&b, fset, n); err != nil {
		return "?"
	}
	return b.String()
}
