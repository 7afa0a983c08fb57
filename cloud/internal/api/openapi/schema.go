package openapi

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// Schema is a JSON Schema (2020-12, as OpenAPI 3.1 uses it).
type Schema = map[string]any

var (
	timeType = reflect.TypeOf(time.Time{})
	rawType  = reflect.TypeOf(json.RawMessage(nil))
)

// schemas collects named component schemas while converting types.
type schemas struct {
	named map[string]Schema
}

func newSchemas() *schemas { return &schemas{named: map[string]Schema{}} }

// ref returns a schema for v's type, registering named struct types as
// components and referring to them.
func (s *schemas) of(t reflect.Type) Schema {
	nullable := false
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
		nullable = true
	}
	out := s.plain(t)
	if nullable {
		if ty, ok := out["type"].(string); ok {
			cp := Schema{}
			for k, v := range out {
				cp[k] = v
			}
			cp["type"] = []string{ty, "null"}
			if e, ok := cp["enum"].([]string); ok {
				cp["enum"] = append(anySlice(e), nil)
			}
			return cp
		}
		return Schema{"oneOf": []any{out, Schema{"type": "null"}}}
	}
	return out
}

func anySlice(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func (s *schemas) plain(t reflect.Type) Schema {
	switch {
	case t == timeType:
		return Schema{"type": "string", "format": "date-time"}
	case t == rawType:
		return Schema{"description": "Any JSON value."}
	}
	switch t.Kind() {
	case reflect.String:
		return Schema{"type": "string"}
	case reflect.Bool:
		return Schema{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return Schema{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return Schema{"type": "number"}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return Schema{"type": "string", "contentEncoding": "base64"}
		}
		return Schema{"type": "array", "items": s.of(t.Elem())}
	case reflect.Map:
		return Schema{"type": "object", "additionalProperties": s.of(t.Elem())}
	case reflect.Interface:
		return Schema{}
	case reflect.Struct:
		name := t.Name()
		if name == "" {
			return s.object(t)
		}
		if _, done := s.named[name]; !done {
			s.named[name] = Schema{} // placeholder against recursion
			s.named[name] = s.object(t)
		}
		return Schema{"$ref": "#/components/schemas/" + name}
	}
	return Schema{}
}

func (s *schemas) object(t reflect.Type) Schema {
	props := map[string]any{}
	var required []string
	var order []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if !f.IsExported() && !(f.Anonymous && name == "") {
			continue
		}
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			// Embedded struct: its fields are promoted, as encoding/json does.
			inner := s.object(f.Type)
			for _, n := range inner["x-order"].([]string) {
				props[n] = inner["properties"].(map[string]any)[n]
				order = append(order, n)
			}
			if r, ok := inner["required"].([]string); ok {
				required = append(required, r...)
			}
			continue
		}
		if name == "" {
			name = f.Name
		}
		p := s.of(f.Type)
		if d := f.Tag.Get("doc"); d != "" || f.Tag.Get("enum") != "" || f.Tag.Get("format") != "" ||
			f.Tag.Get("minItems") != "" || f.Tag.Get("maxItems") != "" {
			cp := Schema{}
			for k, v := range p {
				cp[k] = v
			}
			if d != "" {
				cp["description"] = d
			}
			if e := f.Tag.Get("enum"); e != "" {
				vals := anySlice(strings.Split(e, ","))
				if cp["type"] == "array" {
					// A list of enumerated strings: the enum is its items'.
					items := Schema{}
					for k, v := range cp["items"].(Schema) {
						items[k] = v
					}
					items["enum"] = vals
					cp["items"] = items
				} else {
					if ty, ok := cp["type"].([]string); ok && len(ty) == 2 && ty[1] == "null" {
						vals = append(vals, nil)
					}
					cp["enum"] = vals
				}
			}
			if fm := f.Tag.Get("format"); fm != "" {
				cp["format"] = fm
			}
			for _, k := range []string{"minItems", "maxItems"} {
				if v := f.Tag.Get(k); v != "" {
					n, err := strconv.Atoi(v)
					if err != nil {
						panic(fmt.Sprintf("openapi: field %s: %s tag %q is not an integer", f.Name, k, v))
					}
					cp[k] = n
				}
			}
			p = cp
		}
		props[name] = p
		order = append(order, name)
		if !strings.Contains(opts, "omitempty") && f.Tag.Get("optional") == "" {
			required = append(required, name)
		}
	}
	out := Schema{"type": "object", "properties": props, "x-order": order}
	if len(required) > 0 {
		out["required"] = required
	}
	return out
}
