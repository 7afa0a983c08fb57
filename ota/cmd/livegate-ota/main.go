package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"livegate.dev/ota/artifact"
)

func main() {
	cmd := newRootCmd()
	if err := cmd.Execute(); err != nil {
		var r refusal
		if errors.As(err, &r) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// refusal marks an artifact that was checked and refused (exit code 2), as
// opposed to a usage or I/O error (exit code 1).
type refusal struct{ err error }

func (r refusal) Error() string {
	return fmt.Sprintf("REFUSED (%s): %v", artifact.Reason(r.err), r.err)
}
func (r refusal) Unwrap() error { return r.err }

type globals struct {
	quiet bool
	now   string
}

func (g *globals) clock() (func() time.Time, error) {
	if g.now == "" {
		return time.Now, nil
	}
	t, err := time.Parse(time.RFC3339, g.now)
	if err != nil {
		return nil, fmt.Errorf("--now: %w", err)
	}
	return func() time.Time { return t }, nil
}

// bar shows progress over total bytes on stderr (hidden with --quiet).
func (g *globals) bar(cmd *cobra.Command, total int64, desc string) *progressbar.ProgressBar {
	return progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(cmd.ErrOrStderr()),
		progressbar.OptionSetVisibility(!g.quiet),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionShowBytes(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionOnCompletion(func() {
			if !g.quiet {
				fmt.Fprintln(cmd.ErrOrStderr())
			}
		}),
	)
}

// logger logs to stderr: info and up, or warnings and up with --quiet.
func (g *globals) logger(cmd *cobra.Command) *slog.Logger {
	level := slog.LevelInfo
	if g.quiet {
		level = slog.LevelWarn
	}
	return slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
}

func newRootCmd() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:           "livegate-ota",
		Short:         "Sign, verify, inspect and publish livegate update artifacts",
		SilenceUsage:  true,
		SilenceErrors: false,
	}
	root.PersistentFlags().BoolVarP(&g.quiet, "quiet", "q", false, "no progress bars")
	root.PersistentFlags().StringVar(&g.now, "now", "", "verify as of this RFC 3339 time instead of the clock")
	root.AddCommand(keygenCmd(g), revokeCmd(g), signCmd(g), verifyCmd(g), inspectCmd(g), publishCmd(g), pushCmd(g), fetchCmd(g), simCmd(g))
	return root
}
