package authfile

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/vkvstore/vkv/httpapi"
)

// Grant is read or write access to every key that starts with Prefix: the
// httpapi.Grant that GET /v1/whoami lists.
type Grant = httpapi.Grant

// Principal is one entry of the auth file. It implements
// httpapi.Principal.
type Principal struct {
	name   string
	token  [sha256.Size]byte // zero: none
	hasTok bool
	certCN string
	grants []Grant
}

// Name returns the principal's name.
func (p *Principal) Name() string { return p.name }

// CertCN returns the Common Name of the client certificate that identifies
// the principal, or "" if a token does.
func (p *Principal) CertCN() string { return p.certCN }

// Grants returns a copy of the principal's grants.
func (p *Principal) Grants() []Grant { return append([]Grant(nil), p.grants...) }

// allows reports whether p has need: a grant with at least the access
// whose prefix is a prefix of the key, or of the whole range.
func (p *Principal) allows(need httpapi.Need) bool {
	for i := range p.grants {
		g := &p.grants[i]
		if g.Access.Covers(need.Access) && strings.HasPrefix(need.Key, g.Prefix) {
			return true
		}
	}
	return false
}

// Config is a parsed and validated auth file. It is immutable and safe for
// concurrent use.
type Config struct {
	principals []*Principal
	byToken    map[[sha256.Size]byte]*Principal
	byCN       map[string]*Principal
}

// Principals returns the principals in file order.
func (c *Config) Principals() []*Principal { return append([]*Principal(nil), c.principals...) }

// The JSON form of the file.
type (
	fileJSON struct {
		Principals []principalJSON `json:"principals"`
	}
	principalJSON struct {
		Name        string      `json:"name"`
		TokenSHA256 *string     `json:"tokenSHA256,omitempty"`
		CertCN      *string     `json:"certCN,omitempty"`
		Grants      []grantJSON `json:"grants"`
	}
	grantJSON struct {
		Prefix *string `json:"prefix"`
		Access string  `json:"access"`
	}
)

// Error is a problem with an auth file: where it is (the principal, by
// index and name when known) and what.
type Error struct {
	// Principal is the index of the principal in the file, -1 for the file
	// as a whole.
	Principal int
	// Name is the principal's name, if it has one.
	Name string
	// Problem says what is wrong.
	Problem string
}

// Error describes the problem.
func (e *Error) Error() string {
	switch {
	case e.Principal < 0:
		return e.Problem
	case e.Name != "":
		return fmt.Sprintf("principal %d (%q): %s", e.Principal, e.Name, e.Problem)
	}
	return fmt.Sprintf("principal %d: %s", e.Principal, e.Problem)
}

// Parse parses and validates an auth file. Every error is an *Error.
func Parse(data []byte) (*Config, error) {
	if err := checkMembers(data); err != nil {
		return nil, &Error{Principal: -1, Problem: err.Error()}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var f fileJSON
	if err := dec.Decode(&f); err != nil {
		return nil, &Error{Principal: -1, Problem: jsonProblem(data, err)}
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, &Error{Principal: -1, Problem: "more after the JSON object"}
	}
	if len(f.Principals) == 0 {
		return nil, &Error{Principal: -1, Problem: `"principals" is missing or empty: no one could use the server`}
	}
	c := &Config{byToken: map[[sha256.Size]byte]*Principal{}, byCN: map[string]*Principal{}}
	names := map[string]bool{}
	for i, pj := range f.Principals {
		bad := func(format string, args ...any) error {
			return &Error{Principal: i, Name: pj.Name, Problem: fmt.Sprintf(format, args...)}
		}
		if pj.Name == "" {
			return nil, bad(`"name" is missing or empty`)
		}
		if names[pj.Name] {
			return nil, bad("duplicate name: another principal is named %q", pj.Name)
		}
		names[pj.Name] = true
		p := &Principal{name: pj.Name}
		if pj.TokenSHA256 == nil && pj.CertCN == nil {
			return nil, bad(`neither "tokenSHA256" nor "certCN": the principal could not authenticate`)
		}
		if pj.TokenSHA256 != nil {
			h := *pj.TokenSHA256
			b, err := hex.DecodeString(h)
			if err != nil || len(b) != sha256.Size {
				return nil, bad(`malformed "tokenSHA256": want the 64 hex digits of a SHA-256, got %d characters`, len(h))
			}
			copy(p.token[:], b)
			p.hasTok = true
			if other, ok := c.byToken[p.token]; ok {
				return nil, bad("the same tokenSHA256 as principal %q", other.name)
			}
			c.byToken[p.token] = p
		}
		if pj.CertCN != nil {
			if *pj.CertCN == "" {
				return nil, bad(`empty "certCN"`)
			}
			if other, ok := c.byCN[*pj.CertCN]; ok {
				return nil, bad("the same certCN as principal %q", other.name)
			}
			p.certCN = *pj.CertCN
			c.byCN[p.certCN] = p
		}
		for j, g := range pj.Grants {
			if g.Prefix == nil {
				return nil, bad(`grant %d: "prefix" is missing (use "" for every key)`, j)
			}
			var a httpapi.Access
			switch g.Access {
			case "read":
				a = httpapi.Read
			case "write":
				a = httpapi.Write
			default:
				return nil, bad(`grant %d: unknown access %q: want "read" or "write"`, j, g.Access)
			}
			p.grants = append(p.grants, Grant{Prefix: *g.Prefix, Access: a})
		}
		c.principals = append(c.principals, p)
	}
	return c, nil
}

// jsonProblem describes a decoding error with its line and column.
func jsonProblem(data []byte, err error) string {
	var (
		se *json.SyntaxError
		te *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("invalid JSON at %s: %v", position(data, se.Offset), se)
	case errors.As(err, &te):
		return fmt.Sprintf("at %s: member %q has the wrong type (want %v)", position(data, te.Offset), te.Field, te.Type)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "the file is empty or ends early"
	}
	if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return "unknown member " + f
	}
	return "invalid JSON: " + err.Error()
}

// position returns "line L, column C" of byte offset off.
func position(data []byte, off int64) string {
	off = min(max(off, 0), int64(len(data)))
	line := 1 + bytes.Count(data[:off], []byte("\n"))
	col := off - int64(bytes.LastIndexByte(data[:off], '\n'))
	return fmt.Sprintf("line %d, column %d", line, col)
}

// authenticate returns the principal r's credentials identify.
func (c *Config) authenticate(r *http.Request) (*Principal, error) {
	if r.Header.Get("Authorization") != "" {
		tok, ok := httpapi.BearerToken(r)
		if !ok {
			return nil, httpapi.ErrUnknownCredentials
		}
		// The token's bytes, without a copy: Sum256 only reads them, and
		// []byte(tok) would allocate for a token over 32 bytes.
		sum := sha256.Sum256(unsafe.Slice(unsafe.StringData(tok), len(tok)))
		p := c.byToken[sum]
		if p == nil || subtle.ConstantTimeCompare(sum[:], p.token[:]) != 1 {
			return nil, httpapi.ErrUnknownCredentials
		}
		return p, nil
	}
	if r.TLS != nil && len(r.TLS.VerifiedChains) > 0 && len(r.TLS.VerifiedChains[0]) > 0 {
		if p := c.byCN[r.TLS.VerifiedChains[0][0].Subject.CommonName]; p != nil {
			return p, nil
		}
		return nil, httpapi.ErrUnknownCredentials
	}
	return nil, httpapi.ErrNoCredentials
}

// Authorizer serves the principals of an auth file, reloadable. It
// implements httpapi.Authorizer and httpapi.ChangeNotifier and is safe for
// concurrent use.
type Authorizer struct {
	path string
	cur  atomic.Pointer[Config]

	mu      sync.Mutex // serializes Reload; guards changed
	changed chan struct{}
}

var (
	_ httpapi.Authorizer     = (*Authorizer)(nil)
	_ httpapi.ChangeNotifier = (*Authorizer)(nil)
	_ httpapi.GrantLister    = (*Authorizer)(nil)
)

// Load reads and parses the auth file at path. The error names the file.
func Load(path string) (*Authorizer, error) {
	c, err := readFile(path)
	if err != nil {
		return nil, err
	}
	a := &Authorizer{path: path, changed: make(chan struct{})}
	a.cur.Store(c)
	return a, nil
}

// New returns an Authorizer serving c, for tests and embedders; Reload
// needs a file (Load).
func New(c *Config) *Authorizer {
	a := &Authorizer{changed: make(chan struct{})}
	a.cur.Store(c)
	return a
}

// FileError is an auth file that could not be read or parsed.
type FileError struct {
	Path string
	Err  error
}

// Error names the file and the problem.
func (e *FileError) Error() string { return "auth file " + e.Path + ": " + e.Err.Error() }

// Unwrap returns the problem.
func (e *FileError) Unwrap() error { return e.Err }

func readFile(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, &FileError{Path: path, Err: err}
	}
	c, err := Parse(b)
	if err != nil {
		return nil, &FileError{Path: path, Err: err}
	}
	return c, nil
}

// Reload reads the file again. On an error the configuration in force
// stays, and the error (a *FileError) names the file and the problem; on
// success new requests use the new file at once, and watches of principals
// that lost their grant end (httpapi.ChangeNotifier).
func (a *Authorizer) Reload() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.path == "" {
		return errors.New("authfile: Reload of an Authorizer made by New, without a file")
	}
	c, err := readFile(a.path)
	if err != nil {
		return err
	}
	a.swap(c)
	return nil
}

// Set replaces the configuration in force with c, as a reload does.
func (a *Authorizer) Set(c *Config) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.swap(c)
}

func (a *Authorizer) swap(c *Config) {
	a.cur.Store(c)
	close(a.changed)
	a.changed = make(chan struct{})
}

// Config returns the configuration in force.
func (a *Authorizer) Config() *Config { return a.cur.Load() }

// Authenticate returns the principal of r: by its bearer token if it sends
// one, else by its verified client certificate's Common Name.
func (a *Authorizer) Authenticate(r *http.Request) (httpapi.Principal, error) {
	p, err := a.cur.Load().authenticate(r)
	if err != nil {
		return nil, err
	}
	return p, nil
}

// Allow reports whether p has need.
func (a *Authorizer) Allow(p httpapi.Principal, need httpapi.Need) bool {
	pp, ok := p.(*Principal)
	return ok && pp.allows(need)
}

// Grants returns a copy of p's grants, and true, for GET /v1/whoami; false
// if p is not a principal of an auth file. They are p's as Authenticate
// returned it: after a reload, the next request's principal has the new ones.
func (a *Authorizer) Grants(p httpapi.Principal) ([]httpapi.Grant, bool) {
	pp, ok := p.(*Principal)
	if !ok {
		return nil, false
	}
	return pp.Grants(), true
}

// Changed returns a channel closed at the next reload that takes effect.
func (a *Authorizer) Changed() <-chan struct{} {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.changed
}

// HashToken returns the tokenSHA256 of token: its SHA-256 in hex.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// NewToken returns a fresh token: 32 bytes (256 bits) from crypto/rand,
// base64url without padding (43 characters).
func NewToken() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// Entry returns the JSON entry of a principal for the auth file, as
// vkv token new prints it.
func Entry(name, tokenSHA256 string, grants []Grant) ([]byte, error) {
	pj := principalJSON{Name: name, TokenSHA256: &tokenSHA256, Grants: []grantJSON{}}
	for _, g := range grants {
		prefix := g.Prefix
		pj.Grants = append(pj.Grants, grantJSON{Prefix: &prefix, Access: g.Access.String()})
	}
	return json.Marshal(pj)
}
