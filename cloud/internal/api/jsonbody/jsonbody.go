package jsonbody

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strconv"
	"strings"

	"livegate.dev/cloud/internal/api/apierr"
)

// Decode decodes body into v (a pointer to a struct). An empty or
// all-whitespace body decodes as {} so that routes whose fields are all
// optional accept no body at all.
func Decode(body []byte, v any) *apierr.Error {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	if err := strict(body, v); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return translate(err)
	}
	// Exactly one value: anything but whitespace after it is an error.
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return apierr.New(apierr.InvalidJSON, "body must hold exactly one JSON object; found more data at byte offset %d", dec.InputOffset())
	}
	return nil
}

func translate(err error) *apierr.Error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return apierr.New(apierr.InvalidJSON, "body is not valid JSON at byte offset %d: %s", syn.Offset, strings.TrimPrefix(syn.Error(), "json: "))
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return apierr.New(apierr.InvalidJSON, "body is not valid JSON: it ends early")
	case errors.As(err, &typ):
		if typ.Field == "" {
			return apierr.New(apierr.InvalidJSON, "body must be a JSON object, got %s", typ.Value)
		}
		return apierr.New(apierr.InvalidField, "field %q must be %s, got %s", typ.Field, jsonKind(typ.Type), typ.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name, _ := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
		return apierr.New(apierr.UnknownField, "unknown field %q", name)
	default:
		// Errors from a field's UnmarshalJSON (e.g. time parsing).
		return apierr.New(apierr.InvalidField, "body has an invalid value: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
}

func jsonKind(t reflect.Type) string {
	if t == nil {
		return "a different type"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return "a " + t.Kind().String()
}
