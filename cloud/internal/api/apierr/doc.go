// Package apierr is the one registry of livegate-cloud's API error codes.
// Every error the API returns is an *Error carrying a registered Code; the
// HTTP layer renders it as the envelope
//
//	{"detail": {"code": "...", "message": "...", "request_id": "req_..."}}
//
// and the error-code reference (/docs/reference/error-codes) and the OpenAPI
// document are generated from Codes, so code, docs and spec cannot drift.
package apierr
