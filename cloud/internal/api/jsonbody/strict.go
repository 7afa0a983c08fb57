package jsonbody

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"livegate.dev/cloud/internal/api/apierr"
)

// strict checks what encoding/json lets through and an integrator's own
// JSON parser may not (metadata and names are echoed back in results and
// webhooks): bytes that are not UTF-8, \u0000 and lone surrogates in
// strings, a key twice in one object (encoding/json keeps the last), numbers
// beyond float64, a top-level value other than an object (null included),
// and object keys that match a field only case-insensitively (encoding/json
// accepts "User_ID" for "user_id"). v's type guides the last check.
func strict(body []byte, v any) *apierr.Error {
	if !utf8.Valid(body) {
		i := 0
		for i < len(body) {
			r, n := utf8.DecodeRune(body[i:])
			if r == utf8.RuneError && n <= 1 {
				break
			}
			i += n
		}
		return apierr.New(apierr.InvalidJSON, "body is not UTF-8 at byte offset %d", i)
	}
	if err := checkEscapes(body); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return translate(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return apierr.New(apierr.InvalidJSON, "body must be a JSON object, got %s", tokenKind(tok))
	}
	return walkObject(dec, reflect.TypeOf(v), "")
}

// checkEscapes refuses \u0000 and \u escapes of a lone surrogate inside
// strings (encoding/json turns the latter into U+FFFD silently).
func checkEscapes(b []byte) *apierr.Error {
	in := false
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			in = !in
		case c == '\\' && in && i+1 < len(b):
			i++
			if b[i] != 'u' || i+4 >= len(b) {
				continue
			}
			u, err := strconv.ParseUint(string(b[i+1:i+5]), 16, 16)
			if err != nil {
				continue // a syntax error the decoder reports
			}
			switch {
			case u == 0:
				return apierr.New(apierr.InvalidField, "a string holds \\u0000 at byte offset %d", i-1)
			case u >= 0xDC00 && u <= 0xDFFF:
				return apierr.New(apierr.InvalidField, "a string holds a lone low surrogate \\u%04X at byte offset %d", u, i-1)
			case u >= 0xD800 && u <= 0xDBFF:
				j := i + 5
				if j+5 < len(b) && b[j] == '\\' && b[j+1] == 'u' {
					if lo, err := strconv.ParseUint(string(b[j+2:j+6]), 16, 16); err == nil && lo >= 0xDC00 && lo <= 0xDFFF {
						i = j + 5
						continue
					}
				}
				return apierr.New(apierr.InvalidField, "a string holds a lone high surrogate \\u%04X at byte offset %d", u, i-1)
			}
			i += 4
		}
	}
	return nil
}

// walkObject reads an object's members after its '{', t being the Go type
// it decodes into (nil when it is free-form: metadata, maps).
func walkObject(dec *json.Decoder, t reflect.Type, path string) *apierr.Error {
	t = deref(t)
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return translate(err)
		}
		key, _ := tok.(string)
		name := join(path, key)
		if seen[key] {
			return apierr.New(apierr.InvalidField, "field %q appears twice", name)
		}
		seen[key] = true
		var ft reflect.Type
		if t != nil && t.Kind() == reflect.Struct {
			f, exact, found := fieldByJSONName(t, key)
			if found && !exact {
				return apierr.New(apierr.UnknownField, "unknown field %q (field names are case-sensitive: %q)", name, join(path, f))
			}
			if found {
				sf, _ := fieldType(t, key)
				ft = sf
			}
		} else if t != nil && t.Kind() == reflect.Map {
			ft = t.Elem()
		}
		if err := walkValue(dec, ft, name); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil { // '}'
		return translate(err)
	}
	return nil
}

func walkValue(dec *json.Decoder, t reflect.Type, path string) *apierr.Error {
	tok, err := dec.Token()
	if err != nil {
		return translate(err)
	}
	if t != nil && t == reflect.TypeOf(json.RawMessage(nil)) {
		t = nil // free-form: its keys are the integrator's
	}
	switch x := tok.(type) {
	case json.Delim:
		switch x {
		case '{':
			return walkObject(dec, t, path)
		case '[':
			var et reflect.Type
			if dt := deref(t); dt != nil && (dt.Kind() == reflect.Slice || dt.Kind() == reflect.Array) {
				et = dt.Elem()
			}
			for i := 0; dec.More(); i++ {
				if err := walkValue(dec, et, fmt.Sprintf("%s[%d]", path, i)); err != nil {
					return err
				}
			}
			if _, err := dec.Token(); err != nil { // ']'
				return translate(err)
			}
		}
	case json.Number:
		if _, err := strconv.ParseFloat(string(x), 64); err != nil {
			return apierr.New(apierr.InvalidField, "field %q: the number %s is out of range", path, x)
		}
	}
	return nil
}

func deref(t reflect.Type) reflect.Type {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

// fieldByJSONName finds the field of struct t (embedded structs included)
// that key names: exact is false when only a case-insensitive match exists,
// name then being the field's own JSON name.
func fieldByJSONName(t reflect.Type, key string) (name string, exact, found bool) {
	for _, n := range jsonNames(t) {
		if n == key {
			return n, true, true
		}
	}
	for _, n := range jsonNames(t) {
		if strings.EqualFold(n, key) {
			return n, false, true
		}
	}
	return "", false, false
}

// fieldType is the type of the field of struct t whose JSON name is key.
func fieldType(t reflect.Type, key string) (reflect.Type, bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		n, ok := jsonName(f)
		if !ok {
			continue
		}
		if f.Anonymous && n == "" {
			if et := deref(f.Type); et != nil && et.Kind() == reflect.Struct {
				if ft, ok := fieldType(et, key); ok {
					return ft, true
				}
			}
			continue
		}
		if n == key {
			return f.Type, true
		}
	}
	return nil, false
}

func jsonNames(t reflect.Type) []string {
	var out []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		n, ok := jsonName(f)
		if !ok {
			continue
		}
		if f.Anonymous && n == "" {
			if et := deref(f.Type); et != nil && et.Kind() == reflect.Struct {
				out = append(out, jsonNames(et)...)
			}
			continue
		}
		out = append(out, n)
	}
	return out
}

// jsonName is a field's JSON name ("" for an embedded struct without a
// tag); ok is false for fields encoding/json ignores.
func jsonName(f reflect.StructField) (string, bool) {
	tag := f.Tag.Get("json")
	if tag == "-" {
		return "", false
	}
	name, _, _ := strings.Cut(tag, ",")
	if f.Anonymous && name == "" {
		return "", true
	}
	if !f.IsExported() {
		return "", false
	}
	if name == "" {
		name = f.Name
	}
	return name, true
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func tokenKind(tok json.Token) string {
	switch x := tok.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	case string:
		return "a string"
	case json.Delim:
		if x == '[' {
			return "an array"
		}
	}
	return "something else"
}
