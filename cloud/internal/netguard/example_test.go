package netguard_test

import (
	"context"
	"errors"
	"fmt"

	"livegate.dev/cloud/internal/netguard"
)

func ExamplePolicy_CheckURL() {
	p := netguard.Policy{} // production: https, public addresses only
	for _, u := range []string{
		"https://8.8.8.8/hooks/livegate",
		"http://8.8.8.8/hooks/livegate",
		"https://0x7f.1/",
		"https://[::ffff:169.254.169.254]/latest/meta-data/",
	} {
		err := p.CheckURL(context.Background(), u)
		var ne *netguard.Error
		if errors.As(err, &ne) {
			fmt.Printf("%s: %s\n", ne.Code, ne.Message)
			continue
		}
		fmt.Println("ok:", u)
	}
	// Output:
	// ok: https://8.8.8.8/hooks/livegate
	// url_scheme_not_allowed: URL must use https, not "http"
	// url_host_not_allowed: URL host 0x7f.1 is not allowed: it means 127.0.0.1, a loopback address
	// url_host_not_allowed: URL host ::ffff:169.254.169.254 is not allowed: it is an IPv4-mapped IPv6 address of a link-local address (169.254.0.0/16, cloud metadata)
}
