package main

import (
	"os"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// TestServeFlagsDocumented: every `serve` flag has its row in the
// configuration table of docs/api.md, with its environment variable, and
// the table names no flag that does not exist.
func TestServeFlagsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../../docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]bool{}
	for _, line := range strings.Split(string(doc), "\n") {
		if f, ok := strings.CutPrefix(line, "| `--"); ok {
			if name, _, ok := strings.Cut(f, "` |"); ok {
				rows[name] = true
				if !strings.Contains(line, "| `"+envName(name)+"` |") {
					t.Errorf("docs/api.md: the row of --%s does not name %s", name, envName(name))
				}
			}
		}
	}
	flags := serveCmd().Flags()
	flags.VisitAll(func(f *pflag.Flag) {
		if !rows[f.Name] {
			t.Errorf("docs/api.md: no configuration row for --%s (%s)", f.Name, f.Usage)
		}
		delete(rows, f.Name)
	})
	for name := range rows {
		t.Errorf("docs/api.md documents --%s, which serve does not have", name)
	}
}

// TestTLSFlagsFromEnvironment: the HTTPS flags read their LIVEGATE_*
// variables like the others; names are a comma-separated list.
func TestTLSFlagsFromEnvironment(t *testing.T) {
	t.Setenv("LIVEGATE_TLS_ADDR", "127.0.0.1:8443")
	t.Setenv("LIVEGATE_TLS_NAMES", "kiosk-host.lan,192.168.1.20")
	t.Setenv("LIVEGATE_HSTS_MAX_AGE", "24h")
	cmd := serveCmd()
	if err := bindEnv(cmd.Flags()); err != nil {
		t.Fatal(err)
	}
	for flag, want := range map[string]string{"tls-addr": "127.0.0.1:8443", "tls-names": "[kiosk-host.lan,192.168.1.20]",
		"hsts-max-age": "24h0m0s", "tls-cert": ""} {
		if got := cmd.Flags().Lookup(flag).Value.String(); got != want {
			t.Errorf("--%s = %q, want %q", flag, got, want)
		}
	}
	if !cmd.Flags().Changed("hsts-max-age") {
		t.Error("--hsts-max-age from the environment does not count as set (--dev would replace it with 0)")
	}
}
