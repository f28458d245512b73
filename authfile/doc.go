// Package authfile is the auth file of vkv serve -auth-file: principals
// known by a bearer token (its SHA-256) or by the Common Name of a verified
// client certificate, each with grants of read or write access to key
// prefixes. An *Authorizer implements httpapi.Authorizer and
// httpapi.ChangeNotifier and can be reloaded while the server runs.
//
// # The file
//
//	{"principals": [
//	  {"name": "deployer",    "tokenSHA256": "<64 hex digits>", "grants": [{"prefix": "app/", "access": "write"}]},
//	  {"name": "dashboards",  "tokenSHA256": "...", "grants": [{"prefix": "app/", "access": "read"}, {"prefix": "flags/", "access": "read"}]},
//	  {"name": "svc-billing", "certCN": "svc-billing", "grants": [{"prefix": "billing/", "access": "write"}]},
//	  {"name": "ops",         "tokenSHA256": "...", "grants": [{"prefix": "", "access": "write"}]}
//	]}
//
// The file holds hashes, never tokens: tokenSHA256 is the SHA-256 of the
// token in hex (HashToken; vkv token new prints both). access is "read" or
// "write", and write includes read. A grant's prefix covers every key that
// starts with it, byte for byte: "app/" covers "app/x", not "apple" nor
// "app"; "" covers every key. A list or a watch over a prefix P needs a
// grant whose prefix is a prefix of P, so that the whole range is covered.
//
// Parse is strict: an unknown member (at any level), a missing or duplicate
// name, a malformed hash, a principal with neither tokenSHA256 nor certCN,
// two principals with the same token hash or certCN, an unknown access
// level, or anything after the JSON object is an error naming the problem.
//
// # Matching
//
// A request with an Authorization: Bearer header is known by its token
// alone: the token is hashed with SHA-256 and the digest looked up; the
// entry found is compared with the digest in constant time
// (crypto/subtle). The lookup's timing depends on the digest only, which an
// attacker cannot steer without a preimage of SHA-256, never on how much of
// a token is right. A request without one is known by its verified client
// certificate's Common Name (mutual TLS: vkv serve -tls-client-ca), if a
// principal has that certCN. Otherwise it is unknown (401).
package authfile
