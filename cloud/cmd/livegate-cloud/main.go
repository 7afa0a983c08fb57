// Command livegate-cloud is the livegate cloud service: `serve` runs the
// REST API, hosted session pages and webhook delivery; `tenant` manages
// tenants offline when the server is down; `webhook-listen` is a local
// receiver that verifies signed webhooks; `bench` measures session creation
// against a bare Fiber handler.
package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	root := &cobra.Command{
		Use:           "livegate-cloud",
		Short:         "livegate cloud service: hosted liveness sessions, signed webhooks, tenants",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version,
	}
	root.AddCommand(serveCmd(), tenantCmd(), webhookListenCmd(), benchCmd())
	if err := root.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "livegate-cloud:", err)
		os.Exit(1)
	}
}

// envName is the environment variable of a flag: --session-ttl → LIVEGATE_SESSION_TTL.
func envName(flag string) string {
	return "LIVEGATE_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// bindEnv gives every flag not set on the command line the value of its
// LIVEGATE_* environment variable, if set. Flags win over the environment.
func bindEnv(fs *pflag.FlagSet) error {
	var err error
	fs.VisitAll(func(f *pflag.Flag) {
		if err != nil || f.Changed {
			return
		}
		if v, ok := os.LookupEnv(envName(f.Name)); ok {
			if serr := fs.Set(f.Name, v); serr != nil {
				err = fmt.Errorf("%s=%q: %w", envName(f.Name), v, serr)
			}
		}
	})
	return err
}

// annotateEnv appends each flag's environment variable to its usage.
func annotateEnv(fs *pflag.FlagSet) {
	fs.VisitAll(func(f *pflag.Flag) {
		f.Usage += " (env " + envName(f.Name) + ")"
	})
}
