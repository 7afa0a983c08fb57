// Command livegate-kiosk is the kiosk daemon and its technician tools.
//
//	livegate-kiosk enroll --cloud URL --board NAME
//	                                           enroll at the cloud, write credentials and config
//	livegate-kiosk run --config FILE           run the kiosk (systemd Type=notify)
//	livegate-kiosk run-once --board sim --camera FILE [--json]
//	                                           one walk-up session from a recording
//	livegate-kiosk walkup [--config FILE]      simulate a walk-up on the running sim daemon
//	livegate-kiosk sim-print --from CLIP --out FILE.y4m
//	                                           render a printed-photo attack to play on the sim
//	livegate-kiosk check-config --config FILE  validate a config, print the effective one
//	livegate-kiosk hash-password               hash a technician password (read from stdin)
//	livegate-kiosk env                         list the LIVEGATE_KIOSK_* overrides
//	livegate-kiosk version
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"gopkg.in/yaml.v3"

	"livegate.dev/firmware/config"
	"livegate.dev/firmware/kiosk"
)

// version is set with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

const usage = `usage: livegate-kiosk COMMAND [flags]

commands:
  enroll --cloud URL --board NAME
                               enroll this kiosk at the cloud with a one-time token (in LIVEGATE_ENROLL_TOKEN):
                               save its MQTT credentials and the CA, write the config the daemon starts from
  run --config FILE            run the kiosk daemon
  run-once --camera FILE       run one walk-up session from a recording (sim board)
  walkup [--config FILE]       simulate a walk-up on the running daemon (sim board) and print its verdict
  sim-print --from CLIP --out FILE.y4m
                               render a printed photo of a clip's frame held up to the camera (an attack
                               recording for the sim board's camera_source: file)
  check-config --config FILE   validate a config file and print the effective config
  hash-password                read a password on stdin, print its hash for technician.password_hash
  bench --camera FILE          measure the kiosk loop on one core (frames/s, latency to the relay, memory)
  env                          list the LIVEGATE_KIOSK_* environment overrides
  version                      print the version
`

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "enroll":
		err = cmdEnroll(ctx, args[1:], stdin, stdout, stderr, os.Getenv)
	case "run":
		err = cmdRun(ctx, args[1:], stderr)
	case "run-once":
		err = cmdRunOnce(ctx, args[1:], stdout, stderr)
	case "bench":
		err = cmdBench(ctx, args[1:], stdout, stderr)
	case "walkup":
		err = cmdWalkUp(ctx, args[1:], stdin, stdout, stderr)
	case "sim-print":
		err = cmdSimPrint(ctx, args[1:], stdout, stderr)
	case "check-config":
		err = cmdCheck(args[1:], stdout, stderr)
	case "hash-password":
		err = cmdHash(stdin, stdout)
	case "env":
		for _, n := range config.EnvNames() {
			fmt.Fprintln(stdout, n)
		}
	case "version", "--version":
		fmt.Fprintln(stdout, "livegate-kiosk", version)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "livegate-kiosk: unknown command %q\n%s", args[0], usage)
		return 2
	}
	return exitCode(err, stderr)
}

// exitCode maps a command's error to the exit status: 0, 1 (error), 2
// (usage), exitRestart (3: restart requested by the update agent).
func exitCode(err error, stderr io.Writer) int {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if errors.Is(err, errRestart) {
		fmt.Fprintf(stderr, "livegate-kiosk: %v (exit status %d)\n", err, exitRestart)
		return exitRestart
	}
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintln(stderr, "livegate-kiosk:", err)
		return 2
	}
	fmt.Fprintln(stderr, "livegate-kiosk:", err)
	return 1
}

type usageError struct{ error }

func cmdCheck(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("check-config", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "config file (YAML)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *path == "" {
		return usageError{errors.New("check-config: --config is required")}
	}
	c, err := config.Load(*path, os.Environ())
	if err != nil {
		return err
	}
	if _, err := c.Profile(); err != nil {
		return err
	}
	c.Technician.PasswordHash = redact(c.Technician.PasswordHash)
	enc := yaml.NewEncoder(stdout)
	enc.SetIndent(2)
	return enc.Encode(c)
}

func redact(s string) string {
	if s == "" {
		return ""
	}
	return "(set)"
}

func cmdHash(stdin io.Reader, stdout io.Writer) error {
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && err != io.EOF {
		return fmt.Errorf("hash-password: reading stdin: %w", err)
	}
	h, err := config.HashPassword(strings.TrimRight(line, "\r\n"))
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, h)
	return nil
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	switch level {
	case "debug":
		l = slog.LevelDebug
	case "warn":
		l = slog.LevelWarn
	case "error":
		l = slog.LevelError
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}

// kioskEngine and kioskLocator are the engine parts the commands use,
// closed at exit.
type kioskEngine interface {
	kiosk.Engine
	Close() error
}

type kioskLocator interface {
	kiosk.FaceLocator
	Close() error
}
