// Package openapi builds livegate-cloud's OpenAPI 3.1 document from the
// route table the server registers (so no route can go undocumented) and
// the error-code registry, deriving JSON Schemas from the Go types the
// handlers encode and decode. It also renders the document and the error
// codes as self-contained HTML pages (embedded template and stylesheet, no
// CDN) for /docs/api and /docs/reference/error-codes.
package openapi
