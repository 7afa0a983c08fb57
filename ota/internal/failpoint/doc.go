// Package failpoint lets power-cut tests stop a process at a named step.
//
// When the environment variable LIVEGATE_OTA_FAILPOINT names a point (a
// comma-separated list is allowed), Hit at that point prints
// "FAILPOINT <name>" on standard error and blocks forever, so that a parent
// test process that waits for the line can kill -9 the child exactly there.
// Without the variable Hit costs one environment lookup and does nothing.
package failpoint
