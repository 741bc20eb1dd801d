// Package bitstest helps users fake BITS in their own tests: a loopback server with a fault
// script, a manager on a virtual clock and a driver.
//
// The server ([NewServer], [NewTLSServer]) serves static content the way BITS needs it: HEAD
// with Content-Length, GET with a single Range answered 206 with Content-Range and
// Content-Length, and ETag and Last-Modified validators. A fault script ([Fault]) breaks it
// on purpose: status codes, cut or stalled connections, missing range or length support,
// content changing in the middle of a transfer, redirects.
//
// The package imports only the standard library and bitsemu's own packages, so it can be
// used from any test.
package bitstest
