package netguard

import (
	"net/netip"
)

type rangeRule struct {
	p   netip.Prefix
	why string
}

func rules(list ...string) []rangeRule {
	out := make([]rangeRule, 0, len(list)/2)
	for i := 0; i < len(list); i += 2 {
		out = append(out, rangeRule{netip.MustParsePrefix(list[i]), list[i+1]})
	}
	return out
}

// blocked4 lists the IPv4 ranges that are never a webhook or redirect target
// (IANA special-purpose registry plus RFC 1918 and multicast). The order puts
// the more specific reason first.
var blocked4 = rules(
	"0.0.0.0/8", "a \"this network\" address (0.0.0.0/8)",
	"10.0.0.0/8", "a private address (RFC 1918)",
	"100.64.0.0/10", "a shared/CGNAT address (100.64.0.0/10)",
	"127.0.0.0/8", "a loopback address",
	"169.254.0.0/16", "a link-local address (169.254.0.0/16, cloud metadata)",
	"172.16.0.0/12", "a private address (RFC 1918)",
	"192.0.0.0/24", "an IETF protocol assignment (192.0.0.0/24)",
	"192.0.2.0/24", "a documentation address (TEST-NET-1)",
	"192.31.196.0/24", "an AS112 address (192.31.196.0/24)",
	"192.52.193.0/24", "an AMT address (192.52.193.0/24)",
	"192.88.99.0/24", "a 6to4 relay anycast address (192.88.99.0/24)",
	"192.168.0.0/16", "a private address (RFC 1918)",
	"192.175.48.0/24", "an AS112 address (192.175.48.0/24)",
	"198.18.0.0/15", "a benchmarking address (198.18.0.0/15)",
	"198.51.100.0/24", "a documentation address (TEST-NET-2)",
	"203.0.113.0/24", "a documentation address (TEST-NET-3)",
	"224.0.0.0/4", "a multicast address",
	"255.255.255.255/32", "the broadcast address",
	"240.0.0.0/4", "a reserved address (240.0.0.0/4)",
)

// IPv6: only global unicast (2000::/3) is allowed, minus these.
var global6 = netip.MustParsePrefix("2000::/3")

var blocked6 = rules(
	"2001::/32", "a Teredo address (2001::/32)",
	"2001:db8::/32", "a documentation address (2001:db8::/32)",
	"2001::/23", "an IETF protocol assignment (2001::/23)",
	"2620:4f:8000::/48", "an AS112 address (2620:4f:8000::/48)",
	"3fff::/20", "a documentation address (3fff::/20)",
)

// Names for what lies outside 2000::/3, for clear messages.
var outside6 = rules(
	"::/96", "an IPv4-compatible IPv6 address (::/96, deprecated)",
	"::ffff:0:0:0/96", "an IPv4-translated IPv6 address (::ffff:0:0:0/96)",
	"64:ff9b:1::/48", "a local-use NAT64 address (64:ff9b:1::/48)",
	"100::/64", "a discard-only address (100::/64)",
	"fc00::/7", "a unique local IPv6 address (fc00::/7)",
	"fe80::/10", "a link-local IPv6 address (fe80::/10)",
	"fec0::/10", "a site-local IPv6 address (fec0::/10, deprecated)",
	"ff00::/8", "a multicast address",
)

var (
	mapped4 = netip.MustParsePrefix("::ffff:0:0/96")
	nat64   = netip.MustParsePrefix("64:ff9b::/96")
	sixto4  = netip.MustParsePrefix("2002::/16")
)

// addrProblem returns why a is not an allowed destination, or "" when it is.
func addrProblem(a netip.Addr) string {
	if !a.IsValid() {
		return "an invalid address"
	}
	if a.Zone() != "" {
		return "an IPv6 address with a zone"
	}
	if a.Is4() {
		for _, r := range blocked4 {
			if r.p.Contains(a) {
				return r.why
			}
		}
		return ""
	}
	switch {
	case a.IsUnspecified():
		return "the unspecified address"
	case a.IsLoopback():
		return "a loopback address"
	case mapped4.Contains(a):
		if why := addrProblem(a.Unmap()); why != "" {
			return "an IPv4-mapped IPv6 address of " + why
		}
		return ""
	case nat64.Contains(a):
		if why := addrProblem(embedded4(a, 12)); why != "" {
			return "a NAT64 address (64:ff9b::/96) of " + why
		}
		return ""
	case sixto4.Contains(a):
		if why := addrProblem(embedded4(a, 2)); why != "" {
			return "a 6to4 address (2002::/16) of " + why
		}
		return ""
	}
	if !global6.Contains(a) {
		for _, r := range outside6 {
			if r.p.Contains(a) {
				return r.why
			}
		}
		return "not a global unicast IPv6 address (outside 2000::/3)"
	}
	for _, r := range blocked6 {
		if r.p.Contains(a) {
			return r.why
		}
	}
	return ""
}

// embedded4 returns the IPv4 address stored in bytes [off, off+4) of a.
func embedded4(a netip.Addr, off int) netip.Addr {
	b := a.As16()
	return netip.AddrFrom4([4]byte{b[off], b[off+1], b[off+2], b[off+3]})
}
