// Package jsonbody decodes request bodies strictly: one JSON object, no
// unknown fields, no trailing data. Every failure is an *apierr.Error whose
// message names the offending field or byte offset, so a caller sees exactly
// what to fix.
package jsonbody
