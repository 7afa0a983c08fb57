package failpoint

import (
	"fmt"
	"os"
	"strings"
)

// Env is the environment variable that arms failpoints.
const Env = "LIVEGATE_OTA_FAILPOINT"

// Marker is the line prefix Hit prints before blocking.
const Marker = "FAILPOINT "

// Armed reports whether the failpoint name is armed in the environment.
func Armed(name string) bool {
	v := os.Getenv(Env)
	if v == "" {
		return false
	}
	for _, p := range strings.Split(v, ",") {
		if strings.TrimSpace(p) == name {
			return true
		}
	}
	return false
}

// Hit blocks forever if name is armed, after announcing it on stderr.
func Hit(name string) {
	if !Armed(name) {
		return
	}
	fmt.Fprintf(os.Stderr, "%s%s\n", Marker, name)
	select {} // wait for the parent's kill -9
}
