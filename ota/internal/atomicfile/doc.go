// Package atomicfile writes files so that a reader, or a machine that loses
// power, sees either the old content or the new content, never a mixture:
// write a temporary file in the same directory, fsync it, rename it over the
// target, then fsync the directory so the rename itself is durable.
package atomicfile
