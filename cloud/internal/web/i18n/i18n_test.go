package i18n

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"unicode"
)

// TestCataloguesMatchEnglish: every built-in catalogue has exactly the
// English keys, and each text the English text's placeholders, balanced
// bold marks, no control characters and no leading or trailing space; a
// catalogue is a translation, not a copy (at most two texts equal to the
// English ones).
func TestCataloguesMatchEnglish(t *testing.T) {
	en := Builtin(Default)
	if len(en) < 80 {
		t.Fatalf("English has %d keys", len(en))
	}
	want := []string{"ar", "de", "en", "es", "fr", "pt", "zh"}
	if got := Languages(); !slices.Equal(got, want) {
		t.Fatalf("languages %v, want %v", got, want)
	}
	for _, tag := range Languages() {
		c := Builtin(tag)
		for k := range en {
			if _, ok := c[k]; !ok {
				t.Errorf("%s: key %q missing", tag, k)
			}
		}
		same := 0
		for k, v := range c {
			ref, ok := en[k]
			if !ok {
				t.Errorf("%s: key %q is not an English key", tag, k)
				continue
			}
			if p, q := Placeholders(v), Placeholders(ref); !slices.Equal(p, q) {
				t.Errorf("%s: %q has placeholders %v, English %v", tag, k, p, q)
			}
			if strings.Count(v, "**") != strings.Count(ref, "**") {
				t.Errorf("%s: %q has %d bold marks, English %d", tag, k, strings.Count(v, "**"), strings.Count(ref, "**"))
			}
			if v == "" || strings.TrimSpace(v) != v || strings.IndexFunc(v, unicode.IsControl) >= 0 {
				t.Errorf("%s: %q is empty, padded or has control characters: %q", tag, k, v)
			}
			if tag != Default && v == ref {
				same++
			}
		}
		if same > 2 {
			t.Errorf("%s: %d texts are the English ones", tag, same)
		}
		if _, err := CheckOverrides(map[string]Catalogue{tag: c}); err != nil {
			t.Errorf("%s as a tenant's overrides: %v", tag, err)
		}
	}
}

func TestCanonical(t *testing.T) {
	for in, want := range map[string]string{"EN": "en", "pt-br": "pt-BR", "zh-hant-tw": "zh-Hant-TW", "es-419": "es-419",
		"sr-latn": "sr-Latn", "de-CH-1996": "de-CH-1996", "ckb": "ckb"} {
		if got, ok := Canonical(in); !ok || got != want {
			t.Errorf("Canonical(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, bad := range []string{"", "e", "english-language", "en_US", "en-", "-en", "*", "en-US;q=1", strings.Repeat("a-bcdefgh", 5), "ar<script>"} {
		if got, ok := Canonical(bad); ok {
			t.Errorf("Canonical(%q) = %q, accepted", bad, got)
		}
	}
}

func TestParseAcceptLanguage(t *testing.T) {
	for _, c := range []struct {
		h    string
		want []Weighted
	}{
		{"", nil},
		{"fr-CH, fr;q=0.9, en;q=0.8, de;q=0.7, *;q=0.5",
			[]Weighted{{"fr-CH", 1}, {"fr", 0.9}, {"en", 0.8}, {"de", 0.7}, {"*", 0.5}}},
		{"de;q=0.5, ES , ar-eg;q=0.9", []Weighted{{"es", 1}, {"ar-EG", 0.9}, {"de", 0.5}}},
		// q=0 means "not acceptable"; malformed q-values and tags are skipped.
		{"en;q=0, es;q=0.000, fr;q=1.0", []Weighted{{"fr", 1}}},
		{"en;q=2, es;q=0.5000, pt;q=.5, de;q=abc, zh;q=0.25", []Weighted{{"zh", 0.25}}},
		{"en_US, x;q=0.5, ar;Q=0.4", []Weighted{{"ar", 0.4}}},
		// Ties keep the header's order.
		{"pt;q=0.8, es;q=0.8, zh", []Weighted{{"zh", 1}, {"pt", 0.8}, {"es", 0.8}}},
		{"de;level=1;q=0.3, fr", []Weighted{{"fr", 1}, {"de", 0.3}}},
	} {
		got := ParseAcceptLanguage(c.h)
		if !slices.Equal(got, c.want) {
			t.Errorf("ParseAcceptLanguage(%q) = %v, want %v", c.h, got, c.want)
		}
	}
	long := strings.Repeat("xx;q=0.1, ", 100) + "fr"
	if got := ParseAcceptLanguage(long); len(got) > maxRanges {
		t.Fatalf("%d ranges read from a long header", len(got))
	}
}

func TestMatch(t *testing.T) {
	builtin := Languages()
	withIt := append(slices.Clone(builtin), "it", "pt-PT")
	for _, c := range []struct {
		query, header string
		available     []string
		want          string
	}{
		{"", "", builtin, "en"},
		{"", "es-MX,es;q=0.9,en;q=0.8", builtin, "es"},
		{"", "pt-BR", builtin, "pt"},
		{"", "zh-Hant-TW, en;q=0.5", builtin, "zh"},
		{"", "ar-EG;q=0.9, he", builtin, "ar"},                     // he is not available
		{"", "it, de;q=0.8", builtin, "de"},                        // the base of nothing available
		{"", "it;q=0.9, de;q=0.8", withIt, "it"},                   // a tenant's language
		{"", "pt-PT, pt;q=0.5", withIt, "pt-PT"},                   // a tenant's regional variant
		{"", "pt-BR", withIt, "pt"},                                // not the variant: its base
		{"", "de;q=0, fr;q=0.1", builtin, "fr"},                    // q=0 excludes
		{"", "ja, *;q=0.5, fr;q=0.4", builtin, "en"},               // * is any: the default
		{"", "ja, ko", builtin, "en"},                              // nothing matches
		{"fr", "de", builtin, "fr"},                                // ?lang= wins
		{"AR", "de", builtin, "ar"},                                // in any case
		{"fr-CA", "de", builtin, "fr"},                             // and falls back to its base
		{"ja", "de", builtin, "de"},                                // an unknown ?lang= is ignored
		{"<script>", "es", builtin, "es"},                          // a malformed one too
		{"en", "de", builtin, "en"},                                // English asked for
		{"", "en-GB,en;q=0.9,ar;q=0.8", builtin, "en"},             // English first
		{"", "de-CH;q=0.9, fr-FR;q=0.95, fr;q=0.1", builtin, "fr"}, // q order, not header order
	} {
		if got := Match(c.query, c.header, c.available); got != c.want {
			t.Errorf("Match(%q, %q) = %q, want %q", c.query, c.header, got, c.want)
		}
	}
}

func TestDir(t *testing.T) {
	for tag, want := range map[string]string{"ar": "rtl", "ar-EG": "rtl", "he": "rtl", "fa-IR": "rtl", "en": "ltr", "zh": "ltr", "pt-BR": "ltr"} {
		if got := Dir(tag); got != want {
			t.Errorf("Dir(%q) = %q, want %q", tag, got, want)
		}
	}
}

// TestMessages: a key resolves through the language's chain, a tenant's
// override winning at each step.
func TestMessages(t *testing.T) {
	o := map[string]Catalogue{
		"en":    {"welcome.title": "Verify with Acme"},
		"pt":    {"button.start": "Iniciar"},
		"pt-PT": {"button.use_phone": "Usar o meu telemóvel", "capture.title": "Posicione a cara dentro do oval"},
	}
	m := Messages("pt-PT", o)
	for k, want := range map[string]string{
		"button.use_phone": "Usar o meu telemóvel", // the variant's own
		"button.start":     "Iniciar",              // the tenant's base override
		"button.continue":  "Continuar",            // built-in base
		"welcome.title":    Builtin("pt")["welcome.title"],
	} {
		if m[k] != want {
			t.Errorf("pt-PT %s = %q, want %q", k, m[k], want)
		}
	}
	if len(m) != len(Builtin(Default)) {
		t.Fatalf("%d keys, want %d", len(m), len(Builtin(Default)))
	}
	if got := Messages("en", o)["welcome.title"]; got != "Verify with Acme" {
		t.Errorf("en welcome.title %q", got)
	}
	if got := Messages("es", o)["welcome.title"]; got != Builtin("es")["welcome.title"] {
		t.Errorf("es welcome.title %q: an English override leaked", got)
	}
	if got := Messages("zz", nil)["button.start"]; got != "Start" {
		t.Errorf("an unknown language: %q, want English", got)
	}
	if got := Available(o); !slices.Equal(got, []string{"ar", "de", "en", "es", "fr", "pt", "pt-PT", "zh"}) {
		t.Errorf("Available = %v", got)
	}
}

func TestCheckOverrides(t *testing.T) {
	full := Catalogue{}
	for k, v := range Builtin("es") {
		full[k] = v + " (it)"
	}
	ok, err := CheckOverrides(map[string]Catalogue{"pt-br": {"button.start": "Iniciar"}, "IT": full})
	if err != nil {
		t.Fatal(err)
	}
	if ok["pt-BR"]["button.start"] != "Iniciar" || len(ok["it"]) != len(full) {
		t.Fatalf("canonical tags: %v", slices.Collect(func(yield func(string) bool) {
			for k := range ok {
				if !yield(k) {
					return
				}
			}
		}))
	}
	many := map[string]Catalogue{}
	for _, t := range []string{"en", "es", "fr", "de", "pt", "ar", "zh", "en-GB", "en-US", "es-MX", "es-AR", "fr-CA", "fr-BE", "de-AT", "de-CH", "pt-PT", "zh-TW"} {
		many[t] = Catalogue{"button.start": "x"}
	}
	partialIt := Catalogue{"button.start": "Inizia"}
	for _, c := range []struct {
		name     string
		o        map[string]Catalogue
		problem  string
		inDetail string
	}{
		{"bad tag", map[string]Catalogue{"español": {"button.start": "x"}}, ProblemLanguage, "not a language tag"},
		{"twice", map[string]Catalogue{"pt-BR": {}, "pt-br": {}}, ProblemLanguage, "given twice"},
		{"too many", many, ProblemTooMany, "at most 16"},
		{"unknown key", map[string]Catalogue{"es": {"welcome.headline": "x"}}, ProblemUnknownKey, "not a message key"},
		{"empty", map[string]Catalogue{"es": {"button.start": "  "}}, ProblemLength, "empty"},
		{"long", map[string]Catalogue{"es": {"button.start": strings.Repeat("é", 501)}}, ProblemLength, "501 characters; at most 500"},
		{"newline", map[string]Catalogue{"es": {"button.start": "a\nb"}}, ProblemCharacters, "control"},
		{"bold", map[string]Catalogue{"es": {"permission.text": "Elija **Permitir para continuar."}}, ProblemCharacters, "unbalanced"},
		{"lost placeholder", map[string]Catalogue{"es": {"capture.step": "Paso {i}"}}, ProblemPlaceholders, "has placeholders {i}; the text must keep exactly {i} {n}"},
		{"renamed placeholder", map[string]Catalogue{"fr": {"wait.until": "Dans {temps}."}}, ProblemPlaceholders, "has placeholders {temps}; the text must keep exactly {time}"},
		{"added placeholder", map[string]Catalogue{"en": {"button.start": "Start {n}"}}, ProblemPlaceholders, "{n}; the text must keep exactly none"},
		{"incomplete new language", map[string]Catalogue{"it": partialIt}, ProblemIncomplete, "must give every key; "},
	} {
		_, err := CheckOverrides(c.o)
		var oe *OverrideError
		if !errors.As(err, &oe) || oe.Problem != c.problem || !strings.Contains(oe.Detail, c.inDetail) {
			t.Errorf("%s: %v, want problem %s saying %q", c.name, err, c.problem, c.inDetail)
		}
	}
}

// TestKeysDocumented: docs/capture.md lists every message key, for the
// tenants who override them.
func TestKeysDocumented(t *testing.T) {
	b, err := os.ReadFile("../../../../docs/capture.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range Keys() {
		if !strings.Contains(string(b), "| `"+k+"` |") {
			t.Errorf("docs/capture.md does not list the message key %s", k)
		}
	}
}
