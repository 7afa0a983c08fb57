package web

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"livegate.dev/cloud/internal/api/lifecycle"
	"livegate.dev/cloud/internal/core"
	"livegate.dev/cloud/internal/web/i18n"
)

// post sends a JSON body.
func (e *env) post(t *testing.T, path, body string) (int, string) {
	t.Helper()
	req := httptest.NewRequest("POST", path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.app.Test(req, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

var shownHash = regexp.MustCompile(`"consent":\{"given":(true|false),"sha256":"([0-9a-f]{64})"`)

// TestConsentRoute: the page opens on the consent screen with the hash of
// the text it shows (the tenant's text in a language where it set one, the
// built-in one elsewhere); POST /s/{id}/consent records that text, its
// hash, the language and the policy link, once; a hash of another text, a
// language the page is not shown in, a bad body and a finished session are
// refused and record nothing; the page then opens on the welcome screen.
func TestConsentRoute(t *testing.T) {
	e := newEnv(t)
	e.tenants["ten_1"] = &core.Tenant{ID: "ten_1", Name: "Acme", CapturePage: core.CapturePage{PolicyURL: "https://acme.example/privacy",
		Messages: map[string]map[string]string{"es": {"consent.text": "Acme graba su rostro."}}}}
	c, err := e.sessions.Create(context.Background(), lifecycle.Principal{Kind: lifecycle.PrincipalTenant, TenantID: "ten_1"}, core.KindManaged,
		lifecycle.CreateRequest{Mode: "passive"}, "")
	if err != nil {
		t.Fatal(err)
	}
	id, tok := c.Session.ID, url.QueryEscape(c.ClientToken)
	page := func(lang string) (string, string) {
		t.Helper()
		st, body := e.do(t, "GET", "/s/"+id+"?t="+tok+"&lang="+lang)
		m := shownHash.FindStringSubmatch(body)
		if st != 200 || m == nil {
			t.Fatalf("page in %s: %d, no consent config: %.300s", lang, st, body)
		}
		return body, m[2]
	}
	sum := func(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }

	for _, lang := range []string{"en", "es", "fr", "de", "pt", "ar", "zh"} {
		body, h := page(lang)
		msgs := i18n.Messages(lang, map[string]i18n.Catalogue{"es": {"consent.text": "Acme graba su rostro."}})
		if want := sum(i18n.ConsentText(msgs)); h != want {
			t.Errorf("%s: page shows hash %s, want %s", lang, h, want)
		}
		// The consent screen is the one shown, the welcome screen hidden.
		if !strings.Contains(body, `<section id="s-consent" aria-labelledby="h-consent">`) || !strings.Contains(body, `<section id="s-welcome" aria-labelledby="h-welcome" hidden>`) {
			t.Errorf("%s: the page does not open on the consent screen", lang)
		}
		if !strings.Contains(body, `<input type="checkbox" id="consent-box" aria-describedby="consent-err"><label for="consent-box">`) ||
			!strings.Contains(body, `href="https://acme.example/privacy"`) {
			t.Errorf("%s: no labelled checkbox or policy link", lang)
		}
	}
	esBody, esHash := page("es")
	if !strings.Contains(esBody, "Acme graba su rostro.") {
		t.Fatal("the tenant's Spanish consent text is not shown")
	}
	_, enHash := page("en")

	cu := "/s/" + id + "/consent?t=" + tok
	for _, c := range []struct {
		name, body string
		status     int
		code       string
	}{
		{"another text", `{"language":"es","text_sha256":"` + enHash + `"}`, 409, "consent.text_changed"},
		{"not shown", `{"language":"it","text_sha256":"` + enHash + `"}`, 400, "request.invalid_field"},
		{"not a tag", `{"language":"e n","text_sha256":"` + enHash + `"}`, 400, "request.invalid_field"},
		{"no language", `{"text_sha256":"` + enHash + `"}`, 400, "request.missing_field"},
		{"no hash", `{"language":"en"}`, 400, "request.missing_field"},
		{"unknown field", `{"language":"en","text_sha256":"` + enHash + `","ok":true}`, 400, "request.unknown_field"},
		{"not json", `{`, 400, "request.invalid_json"},
	} {
		if st, body := e.post(t, cu, c.body); st != c.status || !strings.Contains(body, c.code) {
			t.Errorf("%s: %d %s, want %d %s", c.name, st, body, c.status, c.code)
		}
	}
	if st, _ := e.post(t, "/s/"+id+"/consent?t=lgct_nope", `{"language":"es","text_sha256":"`+esHash+`"}`); st != 404 {
		t.Errorf("wrong token: %d", st)
	}
	if s, _ := e.sessions.Get(context.Background(), id); s.Consent != nil {
		t.Fatalf("a refused consent was recorded: %+v", s.Consent)
	}

	st, body := e.post(t, cu, `{"language":"es","text_sha256":"`+strings.ToUpper(esHash)+`"}`)
	var rec ConsentRecord
	if err := json.Unmarshal([]byte(body), &rec); st != 200 || err != nil {
		t.Fatalf("consent: %d %s", st, body)
	}
	wantText := "Acme graba su rostro.\n\n" + i18n.Messages("es", nil)["consent.agree"]
	if rec.Language != "es" || rec.Text != wantText || rec.TextSHA256 != sum(wantText) || rec.PolicyURL != "https://acme.example/privacy" ||
		!rec.GivenAt.Equal(e.clk.Now()) {
		t.Fatalf("record %+v", rec)
	}
	// The first consent stands.
	e.clk.Advance(1)
	if st, body := e.post(t, cu, `{"language":"en","text_sha256":"`+enHash+`"}`); st != 200 || !strings.Contains(body, `"language":"es"`) {
		t.Fatalf("second consent: %d %s", st, body)
	}
	if s, _ := e.sessions.Get(context.Background(), id); s.Consent == nil || s.Consent.Language != "es" || s.Consent.TextSHA256 != rec.TextSHA256 {
		t.Fatalf("stored %+v", s.Consent)
	}
	// Reloaded, the page opens on the welcome screen.
	body, _ = page("es")
	if !shownHash.MatchString(body) || !strings.Contains(body, `"consent":{"given":true`) || !strings.Contains(body, `<section id="s-consent" aria-labelledby="h-consent" hidden>`) {
		t.Fatalf("page after consent: %.400s", body)
	}

	// A finished session records nothing.
	d, err := e.sessions.Create(context.Background(), lifecycle.Principal{}, core.KindDirect, lifecycle.CreateRequest{Mode: "passive"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.sessions.Cancel(context.Background(), d.Session.ID); err != nil {
		t.Fatal(err)
	}
	_, h := page("en")
	if st, body := e.post(t, "/s/"+d.Session.ID+"/consent?t="+url.QueryEscape(d.ClientToken), `{"language":"en","text_sha256":"`+h+`"}`); st != 409 || !strings.Contains(body, "session.already_finished") {
		t.Fatalf("consent to a cancelled session: %d %s", st, body)
	}
}

// TestConsentTexts: every built-in language has its own consent texts
// (none falls back to English), and a tenant's consent.text may be longer
// than other texts, up to MaxConsentLen.
func TestConsentTexts(t *testing.T) {
	en := i18n.Messages("en", nil)
	for _, lang := range []string{"es", "fr", "de", "pt", "ar", "zh"} {
		m := i18n.Messages(lang, nil)
		for _, k := range []string{"consent.title", "consent.text", "consent.agree", "consent.policy", "consent.required", "consent.failed", "button.agree"} {
			if m[k] == "" || m[k] == en[k] {
				t.Errorf("%s: %s is missing or English", lang, k)
			}
		}
	}
	long := strings.Repeat("a", i18n.MaxMessageLen+1)
	if _, err := CheckPage(core.CapturePage{Messages: map[string]map[string]string{"en": {"consent.text": long}}}); err != nil {
		t.Errorf("a consent text of %d characters refused: %v", len(long), err)
	}
	if _, err := CheckPage(core.CapturePage{Messages: map[string]map[string]string{"en": {"consent.agree": long}}}); err == nil {
		t.Error("a checkbox label over 500 characters accepted")
	}
	if _, err := CheckPage(core.CapturePage{Messages: map[string]map[string]string{"en": {"consent.text": strings.Repeat("a", i18n.MaxConsentLen+1)}}}); err == nil {
		t.Error("a consent text over MaxConsentLen accepted")
	}
	for _, bad := range []string{"http://acme.example/privacy", "https://user:pw@acme.example/", "acme.example/privacy", "https://acme.example/a b", "javascript:alert(1)"} {
		if _, err := CheckPage(core.CapturePage{PolicyURL: bad}); err == nil {
			t.Errorf("policy_url %q accepted", bad)
		}
	}
	if p, err := CheckPage(core.CapturePage{PolicyURL: "https://acme.example/privacy?v=2"}); err != nil || p.PolicyURL != "https://acme.example/privacy?v=2" {
		t.Errorf("a good policy_url: %v %+v", err, p)
	}
}
