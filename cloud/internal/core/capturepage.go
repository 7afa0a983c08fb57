package core

import "time"

// CapturePage brands and words a tenant's hosted capture page
// (docs/capture.md, "Branding" and "Languages"). It is kept on the tenant
// record beside its settings and set through its own admin routes
// (PUT /admin/v1/tenants/{id}/capture-page and …/capture-page/logo), so
// replacing the settings never drops a tenant's translations or logo. The
// zero value is the unbranded page in the built-in languages.
type CapturePage struct {
	// BrandName is shown at the top of every screen and in the title.
	BrandName string `json:"brand_name,omitempty"`
	// AccentColor is "#rrggbb": buttons, the progress bar and links. It
	// contrasts at least 4.5:1 with the page and with the button text.
	AccentColor string `json:"accent_color,omitempty"`
	// Messages are texts the tenant adds or overrides: language tag
	// (canonical) → message key → text.
	Messages map[string]map[string]string `json:"messages,omitempty"`
	// PolicyURL is the tenant's privacy policy, linked from the consent
	// screen and kept in each consent record: an https URL.
	PolicyURL string `json:"policy_url,omitempty"`
	// Logo is the tenant's logo, re-encoded to PNG by the server.
	Logo *Logo `json:"logo,omitempty"`
}

// Logo is a tenant's logo as the capture page serves it: a PNG the server
// encoded itself from the uploaded image (no metadata, no animation, no
// script), scaled to fit the page's header.
type Logo struct {
	PNG       []byte    `json:"png"`
	Width     int       `json:"width"`
	Height    int       `json:"height"`
	SHA256    string    `json:"sha256"` // hex, of PNG
	UpdatedAt time.Time `json:"updated_at"`
}
