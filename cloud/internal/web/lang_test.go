package web

import (
	"context"
	"encoding/json"
	"html"
	"io"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"livegate.dev/cloud/internal/api/lifecycle"
	"livegate.dev/cloud/internal/core"
	"livegate.dev/cloud/internal/web/i18n"
)

// getPage fetches a new session's page with the given query suffix and
// Accept-Language header.
func getPage(t *testing.T, e *env, mode, query, acceptLanguage string) (status int, body string, header func(string) string) {
	t.Helper()
	c, err := e.sessions.Create(context.Background(), lifecycle.Principal{}, core.KindDirect, lifecycle.CreateRequest{Mode: mode}, "")
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("GET", "/s/"+c.Session.ID+"?t="+url.QueryEscape(c.ClientToken)+query, nil)
	if acceptLanguage != "" {
		req.Header.Set("Accept-Language", acceptLanguage)
	}
	resp, err := e.app.Test(req, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header.Get
}

func configOf(t *testing.T, body string) pageConfig {
	t.Helper()
	m := cfgRe.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no page config in %.300s", body)
	}
	var pc pageConfig
	if err := json.Unmarshal([]byte(html.UnescapeString(m[1])), &pc); err != nil {
		t.Fatalf("page config: %v", err)
	}
	return pc
}

var htmlTagRe = regexp.MustCompile(`<html lang="([^"]*)" dir="([^"]*)">`)

// TestPageLanguage: the page's language comes from ?lang=, then
// Accept-Language (q-values, the base language), then English; the page
// says it in <html lang dir> and Content-Language, and carries its
// language's texts only — in the HTML and in the script's messages.
func TestPageLanguage(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct{ query, accept, lang, dir string }{
		{"", "", "en", "ltr"},
		{"", "es-MX,es;q=0.9,en;q=0.5", "es", "ltr"},
		{"", "ja;q=1, fr-CA;q=0.8, de;q=0.9", "de", "ltr"},
		{"", "pt-BR", "pt", "ltr"},
		{"", "ar-SA", "ar", "rtl"},
		{"", "zh-Hans-CN, en;q=0.1", "zh", "ltr"},
		{"", "fr;q=0, en", "en", "ltr"},
		{"&lang=ar", "de", "ar", "rtl"},
		{"&lang=zh-TW", "", "zh", "ltr"},
		{"&lang=xx", "fr", "fr", "ltr"},
	} {
		st, body, hdr := getPage(t, e, "active", c.query, c.accept)
		m := htmlTagRe.FindStringSubmatch(body)
		if st != 200 || m == nil || m[1] != c.lang || m[2] != c.dir {
			t.Errorf("?%s Accept-Language %q: %d, <html> %v; want lang %q dir %q", c.query, c.accept, st, m, c.lang, c.dir)
			continue
		}
		if hdr("Content-Language") != c.lang || !strings.Contains(hdr("Vary"), "Accept-Language") {
			t.Errorf("%s: Content-Language %q, Vary %q", c.lang, hdr("Content-Language"), hdr("Vary"))
		}
		own := i18n.Builtin(c.lang)
		if !strings.Contains(body, html.EscapeString(own["welcome.title"])) || !strings.Contains(body, html.EscapeString(own["welcome.tip_active"])) {
			t.Errorf("%s: the welcome screen is not in %s", c.lang, c.lang)
		}
		pc := configOf(t, body)
		if pc.Lang != c.lang || pc.Msg["prompt.turn_left"] != own["prompt.turn_left"] || pc.Msg["wait.until"] != own["wait.until"] {
			t.Errorf("%s: config lang %q, messages %v", c.lang, pc.Lang, pc.Msg)
		}
		for k := range pc.Msg {
			if !isScriptKey(k) {
				t.Errorf("%s: the script is given %q, which it does not use", c.lang, k)
			}
		}
		// Only this language's texts: no other catalogue's welcome title or
		// prompts reach the page.
		for _, other := range i18n.Languages() {
			if other == c.lang {
				continue
			}
			for _, k := range []string{"welcome.title", "prompt.turn_right", "button.use_phone"} {
				if s := i18n.Builtin(other)[k]; s != own[k] && strings.Contains(html.UnescapeString(body), s) {
					t.Errorf("%s page carries %s's %s %q", c.lang, other, k, s)
				}
			}
		}
	}
	// Passive sessions are told they will hold still, in their language.
	_, body, _ := getPage(t, e, "passive", "&lang=de", "")
	if !strings.Contains(body, html.EscapeString(i18n.Builtin("de")["welcome.tip_passive"])) ||
		strings.Contains(body, html.EscapeString(i18n.Builtin("de")["welcome.tip_active"])) {
		t.Error("a passive session's welcome screen does not say it will hold still")
	}
}

var (
	scriptRe  = regexp.MustCompile(`(?s)<script[^>]*>.*?</script>`)
	styleRe   = regexp.MustCompile(`(?s)<style[^>]*>.*?</style>`)
	tagRe     = regexp.MustCompile(`<[^>]*>`)
	latinRe   = regexp.MustCompile(`[A-Za-z][A-Za-z'’]+`)
	attrTxtRe = regexp.MustCompile(`(?:aria-label|alt|title)="([^"]*)"`)
)

// TestNoHardCodedText: rendered in Chinese and in Arabic, the page's
// visible text and accessible names hold no Latin word but the names
// that stay as they are (products, protocols): every string comes from the
// catalogues.
func TestNoHardCodedText(t *testing.T) {
	allowed := map[string]bool{"iPhone": true, "Safari": true, "Android": true, "Chrome": true, "https": true, "localhost": true, "QR": true}
	for _, test := range []bool{false, true} {
		e := newEnvWith(t, "")
		p := lifecycle.Principal{}
		kind := core.KindDirect
		if test {
			p, kind = lifecycle.Principal{Kind: lifecycle.PrincipalTenant, TenantID: "ten_a", KeyID: "key_t", Test: true}, core.KindManaged
		}
		for _, lang := range []string{"zh", "ar"} {
			c, err := e.sessions.Create(context.Background(), p, kind, lifecycle.CreateRequest{Mode: "active"}, "")
			if err != nil {
				t.Fatal(err)
			}
			_, body := e.do(t, "GET", "/s/"+c.Session.ID+"?t="+url.QueryEscape(c.ClientToken)+"&lang="+lang)
			visible := tagRe.ReplaceAllString(styleRe.ReplaceAllString(scriptRe.ReplaceAllString(body, " "), " "), " ")
			for _, m := range attrTxtRe.FindAllStringSubmatch(body, -1) {
				visible += " " + m[1]
			}
			for _, w := range latinRe.FindAllString(html.UnescapeString(visible), -1) {
				if !allowed[w] {
					t.Errorf("%s page (test mode %v) shows %q: a string outside the catalogues", lang, test, w)
				}
			}
		}
	}
}

var tCallRe = regexp.MustCompile(`\bt\("([a-z_.]+)"`)

// TestScriptMessages: every message the script names is a message key it
// is given.
func TestScriptMessages(t *testing.T) {
	b, err := assets.ReadFile("assets/capture.html.tmpl")
	if err != nil {
		t.Fatal(err)
	}
	en := i18n.Builtin(i18n.Default)
	names := tCallRe.FindAllStringSubmatch(string(b), -1)
	if len(names) < 15 {
		t.Fatalf("only %d t(…) calls found", len(names))
	}
	for _, m := range names {
		if strings.HasSuffix(m[1], ".") { // a key made at run time: its prefix is given whole
			if !slices.Contains(scriptPrefixes, m[1]) {
				t.Errorf("the script makes keys of %q, which it is not given", m[1])
			}
			continue
		}
		if _, ok := en[m[1]]; !ok || !isScriptKey(m[1]) {
			t.Errorf("the script asks for %q: a key %v, given to the script %v", m[1], ok, isScriptKey(m[1]))
		}
	}
	for _, k := range scriptKeys {
		if _, ok := en[k]; !ok {
			t.Errorf("scriptKeys names %q, not a message key", k)
		}
	}
}

func TestViewH(t *testing.T) {
	v := view{msg: i18n.Catalogue{"a": "Choose **Allow** <b>now</b> & **go**", "b": "no marks"}}
	if got := string(v.H("a")); got != "Choose <strong>Allow</strong> &lt;b&gt;now&lt;/b&gt; &amp; <strong>go</strong>" {
		t.Fatalf("H = %q", got)
	}
	if got := string(v.H("b")); got != "no marks" {
		t.Fatalf("H = %q", got)
	}
}
