package wire

// Whoami is the body of GET /v1/whoami: who the server takes the caller for
// and what they may do, so that a client (the web console) can show what a
// principal may not do before it tries. It never holds a credential (a
// token, a token's hash).
type Whoami struct {
	// Authentication is false when the server checks no credentials: every
	// request is allowed, Principal is empty and Grants is write on "".
	Authentication bool `json:"authentication"`
	// Principal is the name of the caller's principal; absent when
	// Authentication is false.
	Principal string `json:"principal,omitempty"`
	// GrantsKnown reports whether Grants is the whole of what the
	// principal may do. False when the server's authorizer cannot list
	// grants: then Grants is empty and only a request tells (403).
	GrantsKnown bool `json:"grantsKnown"`
	// Grants are the principal's grants, in the authorizer's order. A
	// request is allowed when one grant covers it: Access "write" covers
	// "read"; a grant covers every key that starts with its Prefix, byte
	// for byte, and a listing or watch of a prefix that starts with it. Never
	// nil in a body the server sends.
	Grants []Grant `json:"grants"`
}

// Grant is access to every key that starts with a prefix.
type Grant struct {
	// Prefix is the prefix, when it is valid UTF-8 (else see PrefixBase64).
	// "" covers every key.
	Prefix string `json:"prefix"`
	// PrefixBase64 is the prefix's bytes when they are not valid UTF-8
	// (KeyBytes); then Prefix is not to be used.
	PrefixBase64 []byte `json:"prefixBase64,omitempty"`
	// Access is GrantRead or GrantWrite.
	Access string `json:"access"`
}

// Access levels of a Grant. Write includes read.
const (
	GrantRead  = "read"
	GrantWrite = "write"
)

// PrefixOf returns the prefix g covers, from Prefix or PrefixBase64.
func (g *Grant) PrefixOf() string { return WireKey(g.Prefix, g.PrefixBase64) }
