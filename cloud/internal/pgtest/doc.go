// Package pgtest starts a throwaway PostgreSQL server for tests and
// benchmarks: initdb and pg_ctl from the newest /usr/lib/postgresql/<version>/bin
// (or $LIVEGATE_PG_BIN), a data directory in a fresh temporary directory, a
// free port on 127.0.0.1 and the unix socket in the same directory. It never
// touches the machine's own PostgreSQL cluster or port 5432.
//
// Run as root, the server runs as the postgres user (runuser -u postgres --):
// the temporary directory is given to that user, and every parent directory
// that postgres cannot enter gets the search (o+x) permission added.
//
// The server is durable as configured by default (fsync on), so benchmarks
// measure real commits. `make setup` installs PostgreSQL (the Debian package
// postgresql) when it is missing.
package pgtest
