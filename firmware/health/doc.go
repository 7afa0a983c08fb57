// Package health speaks systemd's service notification protocol directly
// (sd_notify over the datagram socket in $NOTIFY_SOCKET): READY=1 once the
// kiosk runs, WATCHDOG=1 at half of $WATCHDOG_USEC while the kiosk's health
// check passes, STOPPING=1 on shutdown. Outside systemd every call is a
// no-op.
package health
