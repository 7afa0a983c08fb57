// Package download fetches an artifact over HTTPS into a local file,
// resumably: bytes already on disk (after a dropped connection, a kill or a
// reboot) are kept and the rest is asked for with a Range request. The
// SHA-256 covers the whole file, the kept bytes included, and the file gets
// its final name only when size and hash match.
package download
