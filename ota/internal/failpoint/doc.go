// Package failpoint lets power-cut tests stop a process at a named step.
//
// When the environment variable LIVEGATE_OTA_FAILPOINT names a point
// (comma-separated; "name" arms every pass, "name#n" only the n-th), Hit at
// that point prints "FAILPOINT name#n" on standard error and blocks forever,
// so that a parent test process waiting for the line can kill -9 the child
// exactly there. Without the variable Hit costs one environment lookup.
package failpoint
