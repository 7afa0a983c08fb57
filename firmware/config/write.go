package config

import (
	"fmt"
	"os"
	"path/filepath"
)

// WriteFile checks that data is a valid configuration (Parse, without
// environment overrides) and writes it to path atomically: a temporary
// file in the same directory (created 0755 if missing) with mode 0600,
// fsynced, renamed over path, and the directory fsynced. A crash leaves
// either the old file or the new one.
func WriteFile(path string, data []byte) error {
	if _, err := Parse(data, nil); err != nil {
		return fmt.Errorf("config: not writing %s: %w", path, err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	f, err := os.CreateTemp(dir, ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after the rename: nothing to remove
	err = f.Chmod(0o600)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		return fmt.Errorf("config: write %s: %w", path, err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("config: sync %s: %w", dir, err)
	}
	return nil
}
