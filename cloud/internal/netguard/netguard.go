package netguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
)

// Stable error codes, used as the API error envelope's "code".
const (
	// CodeInvalidURL: not a well-formed absolute URL with a host, or a host
	// written in an ambiguous or unsupported form.
	CodeInvalidURL = "invalid_url"
	// CodeSchemeNotAllowed: the scheme is not https (nor http to a literal
	// loopback host in dev mode).
	CodeSchemeNotAllowed = "url_scheme_not_allowed"
	// CodeHostNotAllowed: the host is, or resolves to, an address or name
	// that is not a public destination.
	CodeHostNotAllowed = "url_host_not_allowed"
	// CodeHostUnresolvable: the host name did not resolve to any address.
	CodeHostUnresolvable = "url_host_unresolvable"
)

// MaxURLLength is the longest URL CheckURL accepts, in bytes.
const MaxURLLength = 2048

// Error is returned by CheckURL and DialContext when a URL or address is
// refused.
type Error struct {
	Code string // one of the Code… constants
	Host string // the host as written (never the path or query); may be empty
	// Message is a sentence for the integrator, naming what is wrong.
	Message string
	Err     error // the underlying error (a resolver failure), or nil
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

func newErr(code, host, format string, args ...any) *Error {
	return &Error{Code: code, Host: host, Message: fmt.Sprintf(format, args...)}
}

// Resolver looks up a host's addresses. *net.Resolver satisfies it. Hosts
// are passed lower-case, without a trailing dot.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Policy is the URL and destination policy. The zero value is the production
// policy: https only, public addresses only, the system resolver.
type Policy struct {
	// Dev also accepts http:// (and https://) URLs whose host is literally
	// 127.0.0.1, ::1 or localhost, and lets DialContext connect to loopback
	// for exactly those hosts. Every other rule still applies.
	//
	// Optional. Default: false.
	Dev bool
	// Resolver resolves host names.
	//
	// Optional. Default: net.DefaultResolver, asked for the rooted name
	// ("example.com."), so search domains are never appended (and the
	// pure-Go resolver answers from DNS, not /etc/hosts).
	Resolver Resolver
}

func (p Policy) resolver() Resolver {
	if p.Resolver != nil {
		return p.Resolver
	}
	return fqdnResolver{net.DefaultResolver}
}

// fqdnResolver looks names up as fully qualified (with a trailing dot), so
// that the system's search domains never turn a public-looking name into an
// internal one.
type fqdnResolver struct{ r *net.Resolver }

func (f fqdnResolver) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	return f.r.LookupNetIP(ctx, network, host+".")
}

// target is a host that passed the syntactic checks.
type target struct {
	host        string     // normalised: lower case, no brackets, no trailing dot
	ip          netip.Addr // set when the host is an IP literal (already checked)
	devLoopback bool       // dev mode literal loopback host
}

// CheckURL reports whether raw may be used as a redirect or webhook URL. It
// resolves host names (with ctx) and checks every address they resolve to.
// The error is an *Error.
func (p Policy) CheckURL(ctx context.Context, raw string) error {
	if len(raw) > MaxURLLength {
		return newErr(CodeInvalidURL, "", "URL is longer than %d bytes", MaxURLLength)
	}
	for i := 0; i < len(raw); i++ {
		if c := raw[i]; c <= ' ' || c == 0x7f || c == '\\' {
			return newErr(CodeInvalidURL, "", "URL must not contain whitespace, control characters or backslashes")
		}
	}
	u, err := url.Parse(raw)
	if err != nil {
		return newErr(CodeInvalidURL, "", "URL is not well formed")
	}
	if u.Scheme == "" || u.Opaque != "" || u.Host == "" {
		return newErr(CodeInvalidURL, "", "URL must be absolute, like https://example.com/path")
	}
	if u.User != nil {
		return newErr(CodeInvalidURL, "", "URL must not contain a user name or password")
	}
	host := u.Hostname()
	if strings.HasSuffix(u.Host, ":") {
		return newErr(CodeInvalidURL, host, "URL has an empty port")
	}
	if port := u.Port(); port != "" {
		if _, err := parsePort(port); err != nil {
			return newErr(CodeInvalidURL, host, "URL port %q is not a number from 1 to 65535", port)
		}
	}
	bracketed := strings.HasPrefix(u.Host, "[")
	scheme := strings.ToLower(u.Scheme)
	if p.Dev && (scheme == "http" || scheme == "https") && isDevLoopback(host, bracketed) {
		return nil
	}
	if scheme != "https" {
		msg := "URL must use https"
		if p.Dev {
			msg += " (dev mode also accepts http to 127.0.0.1, ::1 or localhost)"
		}
		return newErr(CodeSchemeNotAllowed, host, "%s, not %q", msg, scheme)
	}
	t, err := p.classify(host, bracketed)
	if err != nil {
		return err
	}
	if t.ip.IsValid() {
		return nil
	}
	_, err = p.resolveChecked(ctx, "ip", t.host, host)
	return err
}

// isDevLoopback reports whether host is literally one of the dev loopback
// hosts. Other spellings of loopback do not count.
func isDevLoopback(host string, bracketed bool) bool {
	if bracketed {
		return host == "::1"
	}
	return host == "127.0.0.1" || strings.EqualFold(host, "localhost")
}

// classify checks a host (without brackets and port) syntactically, and when
// it is an IP literal, checks the address.
func (p Policy) classify(host string, bracketed bool) (target, error) {
	if host == "" {
		return target{}, newErr(CodeInvalidURL, host, "URL has no host")
	}
	if bracketed || strings.Contains(host, ":") {
		a, err := netip.ParseAddr(host)
		if err != nil || !a.Is6() {
			return target{}, newErr(CodeInvalidURL, host, "URL host %q is not a valid IPv6 address", host)
		}
		if a.Zone() != "" {
			return target{}, newErr(CodeHostNotAllowed, host, "URL host %q is not allowed: IPv6 zones name a local interface", host)
		}
		if why := addrProblem(a); why != "" {
			return target{}, newErr(CodeHostNotAllowed, host, "URL host %s is not allowed: it is %s", host, why)
		}
		return target{host: a.String(), ip: a}, nil
	}
	for i := 0; i < len(host); i++ {
		if host[i] >= 0x80 {
			return target{}, newErr(CodeInvalidURL, host, "URL host must be ASCII: write internationalised names in their xn-- form")
		}
	}
	name := strings.ToLower(host)
	name = strings.TrimSuffix(name, ".")
	if name == "" || strings.HasSuffix(name, ".") {
		return target{}, newErr(CodeInvalidURL, host, "URL host %q is not a valid host name", host)
	}
	if a, numeric, err := parseIPv4(name); numeric {
		if err != nil {
			return target{}, newErr(CodeInvalidURL, host, "URL host %q is an ambiguous numeric address: %v", host, err)
		}
		if why := addrProblem(a); why != "" {
			if a.String() != name {
				return target{}, newErr(CodeHostNotAllowed, host, "URL host %s is not allowed: it means %s, %s", host, a, why)
			}
			return target{}, newErr(CodeHostNotAllowed, host, "URL host %s is not allowed: it is %s", host, why)
		}
		if a.String() != name {
			return target{}, newErr(CodeInvalidURL, host, "URL host %q must be written in dotted-decimal form (%s)", host, a)
		}
		return target{host: name, ip: a}, nil
	}
	if why := specialName(name); why != "" {
		return target{}, newErr(CodeHostNotAllowed, host, "URL host %s is not allowed: %s", host, why)
	}
	if err := checkName(name); err != "" {
		return target{}, newErr(CodeInvalidURL, host, "URL host %q is not a valid host name: %s", host, err)
	}
	return target{host: name}, nil
}

// resolveChecked resolves name and checks every address; shown is the host
// as the caller wrote it, for messages.
func (p Policy) resolveChecked(ctx context.Context, network, name, shown string) ([]netip.Addr, error) {
	addrs, err := p.resolver().LookupNetIP(ctx, network, name)
	if err != nil {
		return nil, &Error{Code: CodeHostUnresolvable, Host: shown,
			Message: fmt.Sprintf("URL host %s could not be resolved", shown), Err: err}
	}
	if len(addrs) == 0 {
		return nil, newErr(CodeHostUnresolvable, shown, "URL host %s resolves to no address", shown)
	}
	out := make([]netip.Addr, 0, len(addrs))
	for _, a := range addrs {
		if why := addrProblem(a.WithZone("")); why != "" || a.Zone() != "" {
			if why == "" {
				why = "an address with a zone"
			}
			return nil, newErr(CodeHostNotAllowed, shown, "URL host %s is not allowed: it resolves to %s, %s", shown, a, why)
		}
		out = append(out, a.Unmap())
	}
	return out, nil
}

// DialContext connects like net.Dialer.DialContext, but only to addresses
// the policy allows: it resolves addr's host, refuses the connection if ANY
// resolved address is not allowed, and connects to the checked IP addresses
// (never resolving again), so DNS rebinding cannot redirect it. Use it as
// http.Transport.DialContext. In dev mode, the literal hosts 127.0.0.1, ::1
// and localhost connect to loopback.
func (p Policy) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	var family string
	switch network {
	case "tcp":
		family = "ip"
	case "tcp4":
		family = "ip4"
	case "tcp6":
		family = "ip6"
	default:
		return nil, fmt.Errorf("netguard: dial %s %s: only tcp is supported", network, addr)
	}
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("netguard: dial %s: %w", addr, err)
	}
	port, err := parsePort(portStr)
	if err != nil {
		return nil, fmt.Errorf("netguard: dial %s: %w", addr, err)
	}
	var ips []netip.Addr
	allowLoopback := false
	if p.Dev && isDevLoopback(host, strings.Contains(host, ":")) {
		allowLoopback = true
		switch {
		case host == "127.0.0.1":
			ips = []netip.Addr{netip.AddrFrom4([4]byte{127, 0, 0, 1})}
		case host == "::1":
			ips = []netip.Addr{netip.IPv6Loopback()}
		default: // localhost: never asks DNS
			ips = []netip.Addr{netip.AddrFrom4([4]byte{127, 0, 0, 1}), netip.IPv6Loopback()}
		}
	} else {
		t, err := p.classify(host, strings.Contains(host, ":"))
		if err != nil {
			return nil, fmt.Errorf("netguard: dial %s: %w", addr, err)
		}
		if t.ip.IsValid() {
			ips = []netip.Addr{t.ip.Unmap()}
		} else if ips, err = p.resolveChecked(ctx, family, t.host, host); err != nil {
			return nil, fmt.Errorf("netguard: dial %s: %w", addr, err)
		}
	}
	d := net.Dialer{Control: controlFor(allowLoopback)}
	var errs []error
	for _, ip := range ips {
		if (family == "ip4" && !ip.Is4()) || (family == "ip6" && !ip.Is6()) {
			continue
		}
		c, err := d.DialContext(ctx, network, netip.AddrPortFrom(ip, port).String())
		if err == nil {
			return c, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	if len(errs) == 0 {
		return nil, fmt.Errorf("netguard: dial %s: no %s address", addr, family)
	}
	return nil, fmt.Errorf("netguard: dial %s: %w", addr, errors.Join(errs...))
}

// controlFor re-checks, just before connect(2), the address the socket is
// about to connect to: a last line of defence should anything above let an
// address through.
func controlFor(allowLoopback bool) func(network, address string, c syscall.RawConn) error {
	return func(network, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("netguard: unexpected dial address %q: %w", address, err)
		}
		a := ap.Addr().Unmap()
		if allowLoopback && a.IsLoopback() {
			return nil
		}
		if why := addrProblem(a.WithZone("")); why != "" {
			return newErr(CodeHostNotAllowed, a.String(), "connection to %s refused: it is %s", a, why)
		}
		return nil
	}
}

func parsePort(s string) (uint16, error) {
	if s == "" || len(s) > 5 || (len(s) > 1 && s[0] == '0') {
		return 0, fmt.Errorf("invalid port %q", s)
	}
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("invalid port %q", s)
	}
	return uint16(n), nil
}

// parseIPv4 reads host the way inet_aton(3) and the WHATWG URL parser do. It
// reports numeric = true when the host's last label is a number (decimal or
// 0x-hex), which makes resolvers and browsers treat the whole host as an IPv4
// address; err is then set if it is not a valid one. Parts are decimal,
// octal (leading 0) or hex (0x); one to four parts, the last filling the
// remaining bytes (127.1 = 127.0.0.1, 2130706433 = 127.0.0.1).
func parseIPv4(host string) (a netip.Addr, numeric bool, err error) {
	parts := strings.Split(host, ".")
	if !isNumberLike(parts[len(parts)-1]) {
		return netip.Addr{}, false, nil
	}
	if len(parts) > 4 {
		return netip.Addr{}, true, errors.New("more than four parts")
	}
	vals := make([]uint64, len(parts))
	for i, s := range parts {
		v, err := parseIPv4Part(s)
		if err != nil {
			return netip.Addr{}, true, err
		}
		vals[i] = v
	}
	var n uint64
	for i, v := range vals[:len(vals)-1] {
		if v > 255 {
			return netip.Addr{}, true, fmt.Errorf("part %d is larger than 255", i+1)
		}
		n |= v << (8 * (3 - i))
	}
	last := vals[len(vals)-1]
	if last >= 1<<(8*(5-len(vals))) {
		return netip.Addr{}, true, errors.New("last part is too large")
	}
	n |= last
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}), true, nil
}

func isNumberLike(s string) bool {
	if s == "" {
		return false
	}
	if len(s) >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		for i := 2; i < len(s); i++ {
			if !isHex(s[i]) {
				return false
			}
		}
		return true
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func parseIPv4Part(s string) (uint64, error) {
	base := 10
	digits := s
	switch {
	case s == "":
		return 0, errors.New("empty part")
	case len(s) >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'):
		base, digits = 16, s[2:]
		if digits == "" {
			return 0, nil // "0x" is 0 to inet_aton and WHATWG alike
		}
	case len(s) > 1 && s[0] == '0':
		base, digits = 8, s[1:]
	}
	if len(digits) > 12 { // beyond 2^32 in any base; also bounds ParseUint's work
		return 0, fmt.Errorf("part %q is too large", s)
	}
	v, err := strconv.ParseUint(digits, base, 64)
	if err != nil {
		return 0, fmt.Errorf("part %q is not a base-%d number", s, base)
	}
	return v, nil
}

// checkName checks a lower-case DNS host name; it returns a reason or "".
func checkName(name string) string {
	if len(name) > 253 {
		return "longer than 253 characters"
	}
	labels := strings.Split(name, ".")
	if len(labels) < 2 {
		return "a single-label name is not a public host (use a fully qualified domain name)"
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 {
			return "each label must be 1 to 63 characters"
		}
		if l[0] == '-' || l[len(l)-1] == '-' {
			return "a label must not start or end with a hyphen"
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return fmt.Sprintf("character %q is not allowed", c)
			}
		}
	}
	return ""
}

// specialNames are special-use or private-use domains that never name a
// public host.
var specialNames = []string{"localhost", "local", "internal", "localdomain", "home.arpa", "invalid", "onion"}

func specialName(name string) string {
	for _, s := range specialNames {
		if name == s || strings.HasSuffix(name, "."+s) {
			return fmt.Sprintf("%q is a special-use or private domain", s)
		}
	}
	return ""
}
