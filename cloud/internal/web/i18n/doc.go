// Package i18n holds the capture page's message catalogues and picks the
// language of a request.
//
// Each built-in language is one JSON file in messages/ (embedded in the
// binary): a flat object of message keys to texts. English (en) is the
// reference: every other catalogue has exactly its keys and, in each text,
// the same {placeholders}. Texts may mark bold words with **…**; the page
// escapes every text and turns only that mark into <strong>.
//
// Match picks a language for a request: ?lang= first, then the
// Accept-Language header in q-value order, each tag tried as given and then
// with its last subtag dropped (pt-BR, then pt), English last. Messages
// resolves every key of a language with a tenant's overrides winning at
// each step of the same chain, and CheckOverrides validates the overrides a
// tenant stores (docs/capture.md, "Languages").
package i18n
