// Package openapi builds livegate-cloud's OpenAPI 3.1 document from the
// route table the server registers (so no route can go undocumented) and
// the error-code registry, deriving JSON Schemas from the Go types the
// handlers encode and decode. It also renders the document, the error codes
// and the rate limits the server applies as self-contained HTML pages
// (embedded template, stylesheet and script, no CDN) for /docs/api (with a
// try-it panel per operation), /docs/reference/error-codes and
// /docs/reference/rate-limits.
package openapi
