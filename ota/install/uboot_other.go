//go:build !linux

package install

import "os"

// dropCache is a no-op off Linux: the read-back may come from the cache.
func dropCache(*os.File) {}
