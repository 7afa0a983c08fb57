package health

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"livegate.dev/drivers"
)

// Notifier sends notifications to systemd. The nil or zero Notifier does
// nothing.
type Notifier struct {
	addr *net.UnixAddr
	// Watchdog is the interval systemd expects WATCHDOG=1 within (0: no
	// watchdog).
	Watchdog time.Duration
}

// FromEnv reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID through
// getenv (os.Getenv). Without NOTIFY_SOCKET it returns a no-op Notifier.
func FromEnv(getenv func(string) string) (*Notifier, error) {
	n := &Notifier{}
	sock := getenv("NOTIFY_SOCKET")
	if sock == "" {
		return n, nil
	}
	if !strings.HasPrefix(sock, "/") && !strings.HasPrefix(sock, "@") {
		return nil, fmt.Errorf("health: NOTIFY_SOCKET %q is not a path or an abstract socket", sock)
	}
	if strings.HasPrefix(sock, "@") {
		sock = "\x00" + sock[1:]
	}
	n.addr = &net.UnixAddr{Name: sock, Net: "unixgram"}
	if us := getenv("WATCHDOG_USEC"); us != "" {
		pid := getenv("WATCHDOG_PID")
		if pid == "" || pid == strconv.Itoa(os.Getpid()) {
			v, err := strconv.ParseInt(us, 10, 64)
			if err != nil || v <= 0 {
				return nil, fmt.Errorf("health: WATCHDOG_USEC %q is not a positive integer", us)
			}
			n.Watchdog = time.Duration(v) * time.Microsecond
		}
	}
	return n, nil
}

// Enabled reports whether a notification socket is set.
func (n *Notifier) Enabled() bool { return n != nil && n.addr != nil }

// Notify sends state ("READY=1", "STATUS=…", …).
func (n *Notifier) Notify(state string) error {
	if !n.Enabled() {
		return nil
	}
	c, err := net.DialUnix("unixgram", nil, n.addr)
	if err != nil {
		return fmt.Errorf("health: sd_notify dial: %w", err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(state)); err != nil {
		return fmt.Errorf("health: sd_notify %q: %w", state, err)
	}
	return nil
}

// Ready tells systemd the service is up.
func (n *Notifier) Ready() error { return n.Notify("READY=1") }

// Stopping tells systemd the service is shutting down.
func (n *Notifier) Stopping() error { return n.Notify("STOPPING=1") }

// RunWatchdog sends WATCHDOG=1 every half watchdog interval on clk while
// healthy returns nil, until ctx is done. A failing check is logged and not
// pinged, so systemd restarts a stuck kiosk. Without a watchdog it returns
// at once.
func (n *Notifier) RunWatchdog(ctx context.Context, clk drivers.Clock, log *slog.Logger, healthy func() error) {
	if !n.Enabled() || n.Watchdog <= 0 {
		return
	}
	every := n.Watchdog / 2
	for {
		if err := healthy(); err != nil {
			log.Error("health check failed; withholding the watchdog ping", "err", err)
		} else if err := n.Notify("WATCHDOG=1"); err != nil {
			log.Error("watchdog ping", "err", err)
		}
		if drivers.Sleep(ctx, clk, every) != nil {
			return
		}
	}
}
