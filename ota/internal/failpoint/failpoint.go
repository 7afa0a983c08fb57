package failpoint

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
)

// Env is the environment variable that arms failpoints.
const Env = "LIVEGATE_OTA_FAILPOINT"

// Marker is the line prefix Hit prints before blocking.
const Marker = "FAILPOINT "

var (
	mu   sync.Mutex
	hits = map[string]int{}
)

// Armed reports whether hit number n (1-based) of the failpoint name is
// armed: the variable lists "name" (every hit) or "name#n" (the n-th hit).
func Armed(name string, n int) bool {
	v := os.Getenv(Env)
	if v == "" {
		return false
	}
	for _, p := range strings.Split(v, ",") {
		p = strings.TrimSpace(p)
		if p == name {
			return true
		}
		if base, k, ok := strings.Cut(p, "#"); ok && base == name {
			if want, err := strconv.Atoi(k); err == nil && want == n {
				return true
			}
		}
	}
	return false
}

// Hit counts a pass through the failpoint name and, if that pass is armed,
// announces "FAILPOINT name" on stderr and blocks forever.
func Hit(name string) {
	if os.Getenv(Env) == "" {
		return
	}
	mu.Lock()
	hits[name]++
	n := hits[name]
	mu.Unlock()
	if !Armed(name, n) {
		return
	}
	fmt.Fprintf(os.Stderr, "%s%s#%d\n", Marker, name, n)
	select {} // wait for the parent's kill -9
}
