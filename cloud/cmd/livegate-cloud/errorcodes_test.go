package main

import (
	"flag"
	"os"
	"strings"
	"testing"

	"livegate.dev/cloud/internal/api/apierr"
	"livegate.dev/cloud/internal/faceapi"
	"livegate.dev/cloud/internal/fleet/fleetapi"
	"livegate.dev/cloud/internal/releases"
)

var update = flag.Bool("update", false, "rewrite docs/error-codes.md")

// TestErrorCodesDoc keeps docs/error-codes.md generated from the registry as
// the served binary links it: the API's own codes plus those the face and
// OTA route packages register.
func TestErrorCodesDoc(t *testing.T) {
	const path = "../../../docs/error-codes.md"
	want := apierr.Markdown()
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./cmd/livegate-cloud -run ErrorCodes -update)", err)
	}
	if string(got) != want {
		t.Fatal("docs/error-codes.md is out of date: run go test ./cmd/livegate-cloud -run ErrorCodes -update")
	}
	var ids []string
	for _, c := range faceapi.Codes() {
		ids = append(ids, c.ID)
	}
	for _, c := range []apierr.Code{fleetapi.CodeDeviceNotFound, fleetapi.CodeDeviceExists} {
		ids = append(ids, c.ID)
	}
	for _, c := range releases.Codes() {
		ids = append(ids, c.ID)
	}
	for _, c := range apierr.Codes() {
		ids = append(ids, c.ID)
	}
	for _, id := range append(ids, "server.engine_unavailable") {
		if !strings.Contains(want, "`"+id+"`") {
			t.Errorf("%s missing from docs/error-codes.md", id)
		}
	}
}
