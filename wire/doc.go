// Package wire is the HTTP wire format of vkv: what the server (package
// httpapi) and the Go client (package vkvclient) both speak, defined once.
// It holds the JSON shapes of request and response bodies, the names of
// vkv's own headers and of shared query parameters, the problem types and
// their codes, the escaping of keys into paths and into JSON, the events of
// the watch stream, and the record of a served request that a metrics
// system consumes (package metrics).
//
// It imports neither side: a program that only talks to a vkv server
// depends on wire and vkvclient, not on the handler, and a metrics
// implementation depends on wire, not on httpapi. docs/openapi.yaml
// describes the same format for other languages; the httpapi tests hold the
// two to each other.
//
// # Basics
//
// Versions travel as JSON integers in bodies (vkv.Version) and as decimal
// strings in headers (HeaderVersion, HeaderStoreVersion); ETag is the strong
// tag "<version>" (vkv.Version.ETag, vkv.ParseETag). Values in JSON are
// base64 ([]byte members). Every error is a Problem (RFC 9457) whose Type is
// ProblemTypeBase followed by one of the Problem... names.
//
// A JSON string cannot hold bytes that are not UTF-8, so every member "key"
// (and "next") has a sibling "keyBase64" ("nextBase64") that is sent only
// when the key is not valid UTF-8: KeyBytes makes it, WireKey reads the pair
// back.
//
// # Caveats
//
// The types here are plain data: they do not check limits or validate
// input. The server decides what it accepts (httpapi), the client what it
// sends (vkvclient).
package wire
