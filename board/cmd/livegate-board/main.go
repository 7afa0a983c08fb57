// Command livegate-board lists the board profiles, prints one, and opens a
// board to report what periph.io and the drivers found — the first step when
// bringing up a kiosk on a new board.
//
//	livegate-board list
//	livegate-board show rpi4
//	livegate-board report [-require relay,camera] [-camera-device /dev/video1] rpi4
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"livegate.dev/board"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "livegate-board:", err)
		os.Exit(1)
	}
}

var errUsage = errors.New("usage: livegate-board list | show BOARD | report [-require PARTS] [-camera-device DEV] BOARD")

func run(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 {
		return errUsage
	}
	switch args[0] {
	case "list":
		for _, n := range board.Names() {
			p, _ := board.Builtin(n)
			fmt.Fprintf(out, "%-8s %s\n", n, p.Description)
		}
		return nil
	case "show":
		if len(args) != 2 {
			return errUsage
		}
		p, err := board.Load(board.Config{Board: args[1]})
		if err != nil {
			return err
		}
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(p)
	case "report":
		fs := flag.NewFlagSet("report", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		require := fs.String("require", "", "comma-separated parts that must open (relay,camera,presence,distance,status,buzzer,\"light NAME\")")
		camDev := fs.String("camera-device", "", "override the camera device")
		if err := fs.Parse(args[1:]); err != nil || fs.NArg() != 1 {
			return errUsage
		}
		cfg := board.Config{Board: fs.Arg(0)}
		if *camDev != "" {
			cfg.CameraDevice = camDev
		}
		p, err := board.Load(cfg)
		if err != nil {
			return err
		}
		b, err := board.Open(ctx, p, board.Opts{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			return err
		}
		defer b.Close()
		fmt.Fprint(out, b.Report)
		if *require != "" {
			return b.Require(strings.Split(*require, ",")...)
		}
		return nil
	}
	return errUsage
}
