package i18n

import (
	"embed"
	"encoding/json"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Default is the language of last resort, and the reference catalogue.
const Default = "en"

//go:embed messages/*.json
var files embed.FS

// Catalogue maps message keys to texts in one language.
type Catalogue map[string]string

var builtin = mustLoad()

func mustLoad() map[string]Catalogue {
	ents, err := files.ReadDir("messages")
	if err != nil {
		panic(err)
	}
	out := map[string]Catalogue{}
	for _, e := range ents {
		b, err := files.ReadFile("messages/" + e.Name())
		if err != nil {
			panic(err)
		}
		var c Catalogue
		if err := json.Unmarshal(b, &c); err != nil {
			panic(fmt.Sprintf("i18n: %s: %v", e.Name(), err))
		}
		tag := strings.TrimSuffix(e.Name(), path.Ext(e.Name()))
		if ct, ok := Canonical(tag); !ok || ct != tag {
			panic(fmt.Sprintf("i18n: %s: not a canonical language tag", e.Name()))
		}
		out[tag] = c
	}
	if out[Default] == nil {
		panic("i18n: no " + Default + " catalogue")
	}
	return out
}

// Builtin returns the built-in catalogue of tag (nil if there is none).
// Callers must not modify it.
func Builtin(tag string) Catalogue { return builtin[tag] }

// Languages returns the built-in languages, sorted.
func Languages() []string {
	out := make([]string, 0, len(builtin))
	for t := range builtin {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

// Keys returns every message key (the English catalogue's), sorted.
func Keys() []string {
	out := make([]string, 0, len(builtin[Default]))
	for k := range builtin[Default] {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

var placeholderRe = regexp.MustCompile(`\{[a-z_]+\}`)

// Placeholders returns the distinct {placeholders} of a text, sorted.
func Placeholders(s string) []string {
	ps := placeholderRe.FindAllString(s, -1)
	slices.Sort(ps)
	return slices.Compact(ps)
}

var tagRe = regexp.MustCompile(`^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$`)

// Canonical returns a language tag in its canonical case (language in
// lower case, a four-letter script in title case, a region in upper case:
// "pt-BR", "zh-Hant-TW"), and whether it is a well-formed tag of at most
// 35 characters.
func Canonical(tag string) (string, bool) {
	if len(tag) > 35 || !tagRe.MatchString(tag) {
		return "", false
	}
	parts := strings.Split(tag, "-")
	for i, p := range parts {
		switch {
		case i == 0:
			parts[i] = strings.ToLower(p)
		case len(p) == 4 && isAlpha(p):
			parts[i] = strings.ToUpper(p[:1]) + strings.ToLower(p[1:])
		case len(p) == 2 && isAlpha(p), len(p) == 3 && isDigits(p):
			parts[i] = strings.ToUpper(p)
		default:
			parts[i] = strings.ToLower(p)
		}
	}
	return strings.Join(parts, "-"), true
}

func isAlpha(s string) bool {
	for _, r := range s {
		if r > unicode.MaxASCII || !unicode.IsLetter(r) {
			return false
		}
	}
	return true
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// chain is the lookup order of a canonical tag: itself, then each shorter
// prefix ("zh-Hant-TW", "zh-Hant", "zh"), then Default.
func chain(tag string) []string {
	var out []string
	for t := tag; t != ""; {
		out = append(out, t)
		i := strings.LastIndexByte(t, '-')
		if i < 0 {
			break
		}
		t = t[:i]
	}
	if out == nil || out[len(out)-1] != Default {
		out = append(out, Default)
	}
	return out
}

// rtl are the languages written right to left.
var rtl = map[string]bool{"ar": true, "he": true, "fa": true, "ur": true, "ps": true, "yi": true, "dv": true, "ckb": true, "sd": true, "ug": true}

// Dir returns "rtl" for a language written right to left, else "ltr".
func Dir(tag string) string {
	base, _, _ := strings.Cut(tag, "-")
	if rtl[strings.ToLower(base)] {
		return "rtl"
	}
	return "ltr"
}

// Weighted is one language range of an Accept-Language header.
type Weighted struct {
	Tag string  // canonical, or "*"
	Q   float64 // 0–1
}

// maxRanges bounds the work an Accept-Language header can cause.
const maxRanges = 32

// ParseAcceptLanguage returns the header's language ranges with a q-value
// above 0, highest first (ties in the header's order). Malformed ranges
// and q-values are skipped; at most 32 ranges are read.
func ParseAcceptLanguage(h string) []Weighted {
	var out []Weighted
	for i, part := range strings.Split(h, ",") {
		if i >= maxRanges {
			break
		}
		fields := strings.Split(part, ";")
		tag := strings.TrimSpace(fields[0])
		q, ok := 1.0, true
		for _, p := range fields[1:] {
			k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
			if strings.EqualFold(strings.TrimSpace(k), "q") {
				q, ok = qvalue(strings.TrimSpace(v))
			}
		}
		if !ok || q == 0 {
			continue
		}
		if tag == "*" {
			out = append(out, Weighted{Tag: "*", Q: q})
			continue
		}
		if ct, good := Canonical(tag); good {
			out = append(out, Weighted{Tag: ct, Q: q})
		}
	}
	slices.SortStableFunc(out, func(a, b Weighted) int {
		switch {
		case a.Q > b.Q:
			return -1
		case a.Q < b.Q:
			return 1
		}
		return 0
	})
	return out
}

// qvalue parses an RFC 9110 qvalue: 0, 0.x to three decimals, 1, 1.000.
func qvalue(s string) (float64, bool) {
	if s == "" || len(s) > 5 || (s[0] != '0' && s[0] != '1') || (len(s) > 1 && s[1] != '.') {
		return 0, false
	}
	for _, r := range s[min(len(s), 2):] {
		if r < '0' || r > '9' {
			return 0, false
		}
	}
	q, err := strconv.ParseFloat(s, 64)
	if err != nil || q > 1 {
		return 0, false
	}
	return q, true
}

// Match picks the page's language among available (canonical tags; Default
// is always acceptable): the query's ?lang= when it names one, else the
// first Accept-Language range that does, else Default. A tag names a
// language when it or one of its shorter prefixes is available ("pt-BR"
// names "pt"); "*" names Default.
func Match(query, acceptLanguage string, available []string) string {
	if t, ok := Canonical(strings.TrimSpace(query)); ok {
		if m := lookup(t, available); m != "" {
			return m
		}
	}
	for _, w := range ParseAcceptLanguage(acceptLanguage) {
		if w.Tag == "*" {
			return Default
		}
		if m := lookup(w.Tag, available); m != "" {
			return m
		}
	}
	return Default
}

// lookup returns tag or its longest available prefix, or "".
func lookup(tag string, available []string) string {
	for t := tag; ; {
		if t == Default || slices.Contains(available, t) {
			return t
		}
		i := strings.LastIndexByte(t, '-')
		if i < 0 {
			return ""
		}
		t = t[:i]
	}
}

// Available returns the languages a page may be shown in: the built-in
// ones and those a tenant added in its overrides, sorted.
func Available(overrides map[string]Catalogue) []string {
	out := Languages()
	for t := range overrides {
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	slices.Sort(out)
	return out
}

// Messages returns the text of every key in tag: for each step of tag's
// chain (itself, its shorter prefixes, Default), the tenant's override,
// then the built-in text.
func Messages(tag string, overrides map[string]Catalogue) Catalogue {
	ch := chain(tag)
	out := make(Catalogue, len(builtin[Default]))
	for k := range builtin[Default] {
		for _, t := range ch {
			if v, ok := overrides[t][k]; ok {
				out[k] = v
				break
			}
			if v, ok := builtin[t][k]; ok {
				out[k] = v
				break
			}
		}
	}
	return out
}

// Limits of a tenant's overrides.
const (
	MaxLanguages  = 16  // languages with overrides
	MaxMessageLen = 500 // characters of one text
	// MaxConsentLen is ConsentTextKey's limit: a tenant's consent
	// statement may be longer than a label.
	MaxConsentLen  = 2000
	boldMark       = "**"
	incompleteList = 5 // missing keys named in an error
)

// The consent screen's texts (docs/capture.md, "Consent"): the statement
// and the checkbox's label, which ConsentText joins into the text a
// consent record keeps and hashes.
const (
	ConsentTextKey  = "consent.text"
	ConsentAgreeKey = "consent.agree"
)

// MaxLen is the most characters a tenant's text for key may have.
func MaxLen(key string) int {
	if key == ConsentTextKey {
		return MaxConsentLen
	}
	return MaxMessageLen
}

// ConsentText is the text of the consent screen in c as a consent record
// keeps it: the statement, a blank line, the checkbox's label — as written
// in the catalogue, **bold** marks included.
func ConsentText(c Catalogue) string {
	return c[ConsentTextKey] + "\n\n" + c[ConsentAgreeKey]
}

// Override problems (OverrideError.Problem).
const (
	ProblemLanguage     = "language"     // not a language tag, or one given twice
	ProblemTooMany      = "too_many"     // more than MaxLanguages
	ProblemUnknownKey   = "unknown_key"  // not a message key
	ProblemPlaceholders = "placeholders" // not the English text's placeholders
	ProblemLength       = "length"       // empty or over MaxMessageLen
	ProblemCharacters   = "characters"   // control characters or unbalanced **
	ProblemIncomplete   = "incomplete"   // a new language lacks keys
)

// OverrideError says what is wrong with a tenant's overrides.
type OverrideError struct {
	Problem string // Problem… constant
	Lang    string // as given
	Key     string // "" for language-level problems
	Detail  string
}

func (e *OverrideError) Error() string {
	if e.Key != "" {
		return fmt.Sprintf("messages[%q][%q]: %s", e.Lang, e.Key, e.Detail)
	}
	if e.Lang != "" {
		return fmt.Sprintf("messages[%q]: %s", e.Lang, e.Detail)
	}
	return "messages: " + e.Detail
}

// CheckOverrides validates a tenant's overrides and returns them with
// canonical language tags, or an *OverrideError naming the first problem
// (languages and keys in sorted order): every language a well-formed tag
// (at most MaxLanguages), every key a message key, every text non-empty,
// at most MaxMessageLen characters, free of control characters, with
// balanced ** marks and exactly the English text's placeholders. A
// language that is neither built in nor a variant of a built-in one (its
// chain reaches none before English) must give every key.
func CheckOverrides(o map[string]Catalogue) (map[string]Catalogue, error) {
	if len(o) == 0 {
		return nil, nil
	}
	if len(o) > MaxLanguages {
		return nil, &OverrideError{Problem: ProblemTooMany, Detail: fmt.Sprintf("%d languages; at most %d", len(o), MaxLanguages)}
	}
	given := make([]string, 0, len(o))
	for t := range o {
		given = append(given, t)
	}
	slices.Sort(given)
	out := make(map[string]Catalogue, len(o))
	en := builtin[Default]
	for _, g := range given {
		t, ok := Canonical(g)
		if !ok {
			return nil, &OverrideError{Problem: ProblemLanguage, Lang: g, Detail: "not a language tag (e.g. \"es\", \"pt-BR\", \"zh-Hant\")"}
		}
		if _, dup := out[t]; dup {
			return nil, &OverrideError{Problem: ProblemLanguage, Lang: g, Detail: fmt.Sprintf("given twice (as %q)", t)}
		}
		keys := make([]string, 0, len(o[g]))
		for k := range o[g] {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		c := make(Catalogue, len(keys))
		for _, k := range keys {
			v := o[g][k]
			ref, known := en[k]
			switch n := utf8.RuneCountInString(v); {
			case !known:
				return nil, &OverrideError{Problem: ProblemUnknownKey, Lang: g, Key: k, Detail: "not a message key (the keys are listed in docs/capture.md)"}
			case strings.TrimSpace(v) == "":
				return nil, &OverrideError{Problem: ProblemLength, Lang: g, Key: k, Detail: "empty"}
			case n > MaxLen(k):
				return nil, &OverrideError{Problem: ProblemLength, Lang: g, Key: k, Detail: fmt.Sprintf("%d characters; at most %d", n, MaxLen(k))}
			case !utf8.ValidString(v) || strings.IndexFunc(v, unicode.IsControl) >= 0:
				return nil, &OverrideError{Problem: ProblemCharacters, Lang: g, Key: k, Detail: "control characters (line breaks included) are not allowed"}
			case strings.Count(v, boldMark)%2 != 0:
				return nil, &OverrideError{Problem: ProblemCharacters, Lang: g, Key: k, Detail: "unbalanced ** (bold marks come in pairs)"}
			}
			if want, got := Placeholders(ref), Placeholders(v); !slices.Equal(want, got) {
				return nil, &OverrideError{Problem: ProblemPlaceholders, Lang: g, Key: k,
					Detail: fmt.Sprintf("has placeholders %s; the text must keep exactly %s", list(got), list(want))}
			}
			c[k] = v
		}
		out[t] = c
	}
	for _, t := range sortedKeys(out) {
		if hasBuiltinBase(t) {
			continue
		}
		var missing []string
		for _, k := range Keys() {
			if _, ok := out[t][k]; !ok {
				missing = append(missing, k)
			}
		}
		if len(missing) > 0 {
			named := strings.Join(missing[:min(len(missing), incompleteList)], ", ")
			if len(missing) > incompleteList {
				named += ", …"
			}
			return nil, &OverrideError{Problem: ProblemIncomplete, Lang: t,
				Detail: fmt.Sprintf("a language that is not built in must give every key; %d missing: %s", len(missing), named)}
		}
	}
	return out, nil
}

// hasBuiltinBase reports whether tag or one of its shorter prefixes is a
// built-in language ("pt-BR": pt; "it": none).
func hasBuiltinBase(tag string) bool {
	for t := tag; ; {
		if builtin[t] != nil {
			return true
		}
		i := strings.LastIndexByte(t, '-')
		if i < 0 {
			return false
		}
		t = t[:i]
	}
}

func sortedKeys(m map[string]Catalogue) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func list(ps []string) string {
	if len(ps) == 0 {
		return "none"
	}
	return strings.Join(ps, " ")
}
