package netguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeResolver answers from a table; a name maps to successive answers (the
// last one repeats), so tests can model DNS rebinding.
type fakeResolver struct {
	mu    sync.Mutex
	names map[string][][]string
	calls map[string]int
}

func newFakeResolver(names map[string][][]string) *fakeResolver {
	return &fakeResolver{names: names, calls: map[string]int{}}
}

func (r *fakeResolver) LookupNetIP(_ context.Context, network, host string) ([]netip.Addr, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if host != strings.ToLower(host) || strings.HasSuffix(host, ".") {
		return nil, fmt.Errorf("resolver asked for %q, not a normalised name", host)
	}
	answers, ok := r.names[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	i := r.calls[host]
	r.calls[host]++
	if i >= len(answers) {
		i = len(answers) - 1
	}
	var out []netip.Addr
	for _, s := range answers[i] {
		a := netip.MustParseAddr(s)
		if (network == "ip4" && !a.Unmap().Is4()) || (network == "ip6" && a.Unmap().Is4()) {
			continue
		}
		out = append(out, a)
	}
	return out, nil
}

func (r *fakeResolver) count(host string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls[host]
}

func one(addrs ...string) [][]string { return [][]string{addrs} }

func testResolver() *fakeResolver {
	return newFakeResolver(map[string][][]string{
		"hooks.example.com":      one("93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"),
		"xn--bcher-kva.example":  one("93.184.216.34"),
		"rebind.example.com":     one("10.0.0.5"),
		"mixed.example.com":      one("93.184.216.34", "127.0.0.1"),
		"metadata.example.com":   one("169.254.169.254"),
		"mapped.example.com":     one("::ffff:127.0.0.1"),
		"v6ula.example.com":      one("fd00::1"),
		"zone.example.com":       one("fe80::1%eth0"),
		"cgnat.example.com":      one("100.100.100.200"),
		"127.0.0.1.nip.io":       one("127.0.0.1"),
		"empty.example.com":      one(),
		"localtest.example.com":  one("127.0.0.1"),
		"nat64meta.example.com":  one("64:ff9b::a9fe:a9fe"),
		"public6.example.com":    one("2606:4700:4700::1111"),
		"benchmark.example.com":  one("198.18.0.10"),
		"broadcast.example.com":  one("255.255.255.255"),
		"unspecified.example.co": one("0.0.0.0"),
	})
}

// devAccepts are hostile URLs whose host is a literal loopback that dev mode
// accepts on purpose.
var devAccepts = map[string]bool{
	"https://127.0.0.1/":     true,
	"HTTPS://127.0.0.1:443/": true,
	"https://[::1]/":         true,
	"https://localhost/":     true,
	"https://LOCALHOST/":     true,
}

func TestCheckURLHostile(t *testing.T) {
	cases := []struct {
		url, code, why string
	}{
		{"http://hooks.example.com/hook", CodeSchemeNotAllowed, "plain http outside dev mode"},
		{"HTTP://hooks.example.com/hook", CodeSchemeNotAllowed, "plain http, upper-case scheme"},
		{"ftp://hooks.example.com/", CodeSchemeNotAllowed, "not a web scheme"},
		{"file:///etc/passwd", CodeInvalidURL, "file URL has no host"},
		{"gopher://127.0.0.1:25/", CodeSchemeNotAllowed, "gopher smuggling into SMTP"},
		{"javascript:alert(1)", CodeInvalidURL, "opaque URL, script injection into the redirect"},
		{"https:hooks.example.com", CodeInvalidURL, "opaque form without //"},
		{"//hooks.example.com/x", CodeInvalidURL, "scheme-relative"},
		{"/path/only", CodeInvalidURL, "relative path"},
		{"https:///path", CodeInvalidURL, "no host"},
		{"https://user:pass@hooks.example.com/", CodeInvalidURL, "userinfo"},
		{"https://hooks.example.com@127.0.0.1/", CodeInvalidURL, "userinfo that disguises the real host"},
		{"https://hooks.example.com\\@127.0.0.1/", CodeInvalidURL, "backslash confusion between parsers"},
		{"https://hooks.example.com/a b", CodeInvalidURL, "whitespace"},
		{"https://hooks.example.com/\n", CodeInvalidURL, "control character"},
		{"https://hooks.example.com:0/", CodeInvalidURL, "port 0"},
		{"https://hooks.example.com:70000/", CodeInvalidURL, "port out of range"},
		{"https://hooks.example.com:/", CodeInvalidURL, "empty port"},
		{"https://hooks.example.com:08443/", CodeInvalidURL, "port with leading zero"},
		{"https://127.0.0.1/", CodeHostNotAllowed, "loopback"},
		{"HTTPS://127.0.0.1:443/", CodeHostNotAllowed, "loopback, upper-case scheme and explicit port"},
		{"https://127.1/", CodeHostNotAllowed, "short-form loopback (inet_aton)"},
		{"https://127.0.1/", CodeHostNotAllowed, "three-part loopback"},
		{"https://2130706433/", CodeHostNotAllowed, "decimal loopback"},
		{"https://0x7f000001/", CodeHostNotAllowed, "hex loopback"},
		{"https://0X7F.1/", CodeHostNotAllowed, "hex short-form loopback, upper case"},
		{"https://0x7f.0x0.0x0.0x1/", CodeHostNotAllowed, "hex dotted loopback"},
		{"https://0177.0.0.1/", CodeHostNotAllowed, "octal loopback"},
		{"https://000000177.0.0.1/", CodeHostNotAllowed, "octal with padding zeros"},
		{"https://017700000001/", CodeHostNotAllowed, "octal 32-bit loopback"},
		{"https://127.0.0.1./", CodeHostNotAllowed, "trailing dot"},
		{"https://0/", CodeHostNotAllowed, "0 means 0.0.0.0"},
		{"https://0.0.0.0/", CodeHostNotAllowed, "unspecified IPv4"},
		{"https://0x/", CodeHostNotAllowed, "0x means 0.0.0.0"},
		{"https://[::1]/", CodeHostNotAllowed, "IPv6 loopback"},
		{"https://[0:0:0:0:0:0:0:1]/", CodeHostNotAllowed, "IPv6 loopback, long form"},
		{"https://[::]/", CodeHostNotAllowed, "IPv6 unspecified"},
		{"https://[::ffff:127.0.0.1]/", CodeHostNotAllowed, "IPv4-mapped loopback"},
		{"https://[::ffff:7f00:1]/", CodeHostNotAllowed, "IPv4-mapped loopback in hex"},
		{"https://[::FFFF:A9FE:A9FE]/", CodeHostNotAllowed, "IPv4-mapped metadata, upper case"},
		{"https://[::ffff:0.0.0.0]/", CodeHostNotAllowed, "IPv4-mapped unspecified"},
		{"https://[::127.0.0.1]/", CodeHostNotAllowed, "IPv4-compatible loopback"},
		{"https://[::8.8.8.8]/", CodeHostNotAllowed, "IPv4-compatible (deprecated) even when public"},
		{"https://[64:ff9b::a9fe:a9fe]/", CodeHostNotAllowed, "NAT64 of the metadata address"},
		{"https://[64:ff9b::7f00:1]/", CodeHostNotAllowed, "NAT64 of loopback"},
		{"https://[2002:7f00:1::]/", CodeHostNotAllowed, "6to4 of loopback"},
		{"https://[2002:a9fe:a9fe::1]/", CodeHostNotAllowed, "6to4 of the metadata address"},
		{"https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/", CodeHostNotAllowed, "Teredo"},
		{"https://[fe80::1%25eth0]/", CodeHostNotAllowed, "IPv6 zone"},
		{"https://[::ffff:127.0.0.1%25lo]/", CodeHostNotAllowed, "mapped with a zone"},
		{"https://[fe80::1]/", CodeHostNotAllowed, "IPv6 link-local"},
		{"https://[fec0::1]/", CodeHostNotAllowed, "IPv6 site-local"},
		{"https://[fd00::1]/", CodeHostNotAllowed, "IPv6 ULA fd00::/8"},
		{"https://[fc00::1]/", CodeHostNotAllowed, "IPv6 ULA fc00::/8"},
		{"https://[ff02::1]/", CodeHostNotAllowed, "IPv6 multicast"},
		{"https://[100::1]/", CodeHostNotAllowed, "IPv6 discard-only"},
		{"https://[2001:db8::1]/", CodeHostNotAllowed, "IPv6 documentation"},
		{"https://[3fff::1]/", CodeHostNotAllowed, "IPv6 documentation (RFC 9637)"},
		{"https://169.254.169.254/latest/meta-data/", CodeHostNotAllowed, "cloud metadata"},
		{"https://0xa9fea9fe/", CodeHostNotAllowed, "cloud metadata in hex"},
		{"https://2852039166/", CodeHostNotAllowed, "cloud metadata in decimal"},
		{"https://10.0.0.1/", CodeHostNotAllowed, "RFC 1918 10/8"},
		{"https://012.1/", CodeHostNotAllowed, "octal 10.0.0.1"},
		{"https://172.16.0.1/", CodeHostNotAllowed, "RFC 1918 172.16/12 low end"},
		{"https://172.31.255.255/", CodeHostNotAllowed, "RFC 1918 172.16/12 high end"},
		{"https://192.168.1.1/", CodeHostNotAllowed, "RFC 1918 192.168/16"},
		{"https://100.64.0.1/", CodeHostNotAllowed, "CGNAT"},
		{"https://100.127.255.254/", CodeHostNotAllowed, "CGNAT high end"},
		{"https://224.0.0.1/", CodeHostNotAllowed, "multicast"},
		{"https://239.255.255.250/", CodeHostNotAllowed, "multicast SSDP"},
		{"https://255.255.255.255/", CodeHostNotAllowed, "broadcast"},
		{"https://240.0.0.1/", CodeHostNotAllowed, "reserved 240/4"},
		{"https://198.18.0.1/", CodeHostNotAllowed, "benchmarking"},
		{"https://192.0.2.1/", CodeHostNotAllowed, "documentation TEST-NET-1"},
		{"https://198.51.100.7/", CodeHostNotAllowed, "documentation TEST-NET-2"},
		{"https://203.0.113.9/", CodeHostNotAllowed, "documentation TEST-NET-3"},
		{"https://192.0.0.8/", CodeHostNotAllowed, "IETF protocol assignments"},
		{"https://localhost/", CodeHostNotAllowed, "localhost outside dev mode"},
		{"https://LOCALHOST/", CodeHostNotAllowed, "localhost, upper case"},
		{"https://localhost./", CodeHostNotAllowed, "localhost with trailing dot"},
		{"https://api.localhost/", CodeHostNotAllowed, "*.localhost"},
		{"https://metadata.google.internal/", CodeHostNotAllowed, "*.internal (metadata name)"},
		{"https://printer.local/", CodeHostNotAllowed, "mDNS .local"},
		{"https://router.home.arpa/", CodeHostNotAllowed, "home.arpa"},
		{"https://intranet/", CodeInvalidURL, "single-label name (search-domain expansion)"},
		{"https://%31%32%37.0.0.1/", CodeInvalidURL, "percent-encoded host"},
		{"https://%E2%91%A0%E2%91%A1%E2%91%A6.0.0.1/", CodeInvalidURL, "percent-encoded non-ASCII digits"},
		{"https://１２７.０.０.１/", CodeInvalidURL, "full-width digits map to 127.0.0.1 under IDNA"},
		{"https://1.2.3.4.5/", CodeInvalidURL, "five numeric parts"},
		{"https://256.0.0.1/", CodeInvalidURL, "part out of range"},
		{"https://0x100.0.0.1/", CodeInvalidURL, "hex part out of range"},
		{"https://08.0.0.1/", CodeInvalidURL, "invalid octal digit"},
		{"https://4294967296/", CodeInvalidURL, "32-bit overflow"},
		{"https://134744072/", CodeInvalidURL, "public address in a non-canonical spelling"},
		{"https://a..example.com/", CodeInvalidURL, "empty label"},
		{"https://-bad.example.com/", CodeInvalidURL, "label starts with a hyphen"},
		{"https://example.com../", CodeInvalidURL, "two trailing dots"},
		{"https://rebind.example.com/", CodeHostNotAllowed, "name resolves to a private address"},
		{"https://mixed.example.com/", CodeHostNotAllowed, "one of several resolved addresses is loopback"},
		{"https://metadata.example.com/", CodeHostNotAllowed, "name resolves to the metadata address"},
		{"https://mapped.example.com/", CodeHostNotAllowed, "name resolves to IPv4-mapped loopback"},
		{"https://v6ula.example.com/", CodeHostNotAllowed, "name resolves to ULA"},
		{"https://zone.example.com/", CodeHostNotAllowed, "name resolves to a zoned link-local address"},
		{"https://cgnat.example.com/", CodeHostNotAllowed, "name resolves to CGNAT"},
		{"https://nat64meta.example.com/", CodeHostNotAllowed, "name resolves to NAT64 of metadata"},
		{"https://benchmark.example.com/", CodeHostNotAllowed, "name resolves to benchmarking range"},
		{"https://broadcast.example.com/", CodeHostNotAllowed, "name resolves to broadcast"},
		{"https://unspecified.example.co/", CodeHostNotAllowed, "name resolves to 0.0.0.0"},
		{"https://127.0.0.1.nip.io/", CodeHostNotAllowed, "wildcard DNS naming loopback"},
		{"https://nx.example.com/", CodeHostUnresolvable, "name does not resolve"},
		{"https://empty.example.com/", CodeHostUnresolvable, "name resolves to nothing"},
		{"https://" + strings.Repeat("a", 2040) + ".com/", CodeInvalidURL, "too long"},
	}
	if len(cases) < 40 {
		t.Fatalf("only %d hostile cases", len(cases))
	}
	for _, dev := range []bool{false, true} {
		p := Policy{Dev: dev, Resolver: testResolver()}
		for _, c := range cases {
			t.Run(fmt.Sprintf("dev=%v/%s", dev, c.why), func(t *testing.T) {
				err := p.CheckURL(context.Background(), c.url)
				if dev && devAccepts[c.url] {
					if err != nil {
						t.Fatalf("dev CheckURL(%q) = %v, want nil", c.url, err)
					}
					return
				}
				var ne *Error
				if !errors.As(err, &ne) {
					t.Fatalf("CheckURL(%q) = %v, want *Error %s (%s)", c.url, err, c.code, c.why)
				}
				if ne.Code != c.code {
					t.Fatalf("CheckURL(%q) code %s (%v), want %s (%s)", c.url, ne.Code, err, c.code, c.why)
				}
				if ne.Message == "" {
					t.Fatal("empty message")
				}
			})
		}
	}
}

func TestCheckURLGood(t *testing.T) {
	good := []string{
		"https://hooks.example.com/webhook",
		"https://hooks.example.com:8443/a/b?c=d&e=f#frag",
		"https://HOOKS.Example.COM./x",
		"HTTPS://hooks.example.com",
		"https://xn--bcher-kva.example/",
		"https://8.8.8.8/",
		"https://1.1.1.1:443/hook",
		"https://[2606:4700:4700::1111]/",
		"https://[::ffff:8.8.8.8]/",
		"https://[2002:808:808::1]/",
		"https://[64:ff9b::808:808]/",
		"https://public6.example.com/",
		"https://172.32.0.1/",
		"https://100.128.0.1/",
		"https://192.169.0.1/",
	}
	for _, dev := range []bool{false, true} {
		p := Policy{Dev: dev, Resolver: testResolver()}
		for _, u := range good {
			if err := p.CheckURL(context.Background(), u); err != nil {
				t.Errorf("dev=%v CheckURL(%q) = %v, want nil", dev, u, err)
			}
		}
	}
}

func TestCheckURLDev(t *testing.T) {
	cases := []struct {
		url      string
		dev, ok  bool
		wantCode string
	}{
		{"http://127.0.0.1:8080/cb", true, true, ""},
		{"http://localhost:3000/cb", true, true, ""},
		{"http://LocalHost/cb", true, true, ""},
		{"http://[::1]:9000/cb", true, true, ""},
		{"https://127.0.0.1:8443/cb", true, true, ""},
		{"https://localhost/cb", true, true, ""},
		{"http://127.0.0.1:8080/cb", false, false, CodeSchemeNotAllowed},
		{"http://localhost/cb", false, false, CodeSchemeNotAllowed},
		{"https://localhost/cb", false, false, CodeHostNotAllowed},
		// Only the literal spellings count in dev mode.
		{"http://127.1/", true, false, CodeSchemeNotAllowed},
		{"http://127.0.0.2/", true, false, CodeSchemeNotAllowed},
		{"http://2130706433/", true, false, CodeSchemeNotAllowed},
		{"http://127.0.0.1./", true, false, CodeSchemeNotAllowed},
		{"http://localhost./", true, false, CodeSchemeNotAllowed},
		{"http://[0:0:0:0:0:0:0:1]/", true, false, CodeSchemeNotAllowed},
		{"http://[::ffff:127.0.0.1]/", true, false, CodeSchemeNotAllowed},
		{"http://localtest.example.com/", true, false, CodeSchemeNotAllowed},
		{"https://127.1/", true, false, CodeHostNotAllowed},
		{"https://localtest.example.com/", true, false, CodeHostNotAllowed},
		{"http://user@127.0.0.1/", true, false, CodeInvalidURL},
		{"http://127.0.0.1:0/", true, false, CodeInvalidURL},
	}
	for _, c := range cases {
		p := Policy{Dev: c.dev, Resolver: testResolver()}
		err := p.CheckURL(context.Background(), c.url)
		if c.ok {
			if err != nil {
				t.Errorf("dev=%v CheckURL(%q) = %v, want nil", c.dev, c.url, err)
			}
			continue
		}
		var ne *Error
		if !errors.As(err, &ne) || ne.Code != c.wantCode {
			t.Errorf("dev=%v CheckURL(%q) = %v, want code %s", c.dev, c.url, err, c.wantCode)
		}
	}
}

func TestParseIPv4(t *testing.T) {
	cases := []struct {
		in      string
		want    string
		numeric bool
		bad     bool
	}{
		{"1.2.3.4", "1.2.3.4", true, false},
		{"127.1", "127.0.0.1", true, false},
		{"10.1.2", "10.1.0.2", true, false},
		{"10.65535", "10.0.255.255", true, false},
		{"10.65536", "10.1.0.0", true, false},
		{"10.16777216", "", true, true},
		{"1.2.65536", "", true, true},
		{"0x0a.0x0.0.01", "10.0.0.1", true, false},
		{"4294967295", "255.255.255.255", true, false},
		{"0xffffffff", "255.255.255.255", true, false},
		{"037777777777", "255.255.255.255", true, false},
		{"040000000000", "", true, true},
		{"09", "", true, true},
		{"1.2.3.0x", "1.2.3.0", true, false},
		{"1..3", "", true, true},
		{"example.com", "", false, false},
		{"1.2.3.com", "", false, false},
		{"0x7f.example", "", false, false},
		{"99999999999999999999999", "", true, true},
	}
	for _, c := range cases {
		a, numeric, err := parseIPv4(c.in)
		if numeric != c.numeric || (err != nil) != c.bad {
			t.Errorf("parseIPv4(%q) = %v, numeric %v, err %v", c.in, a, numeric, err)
			continue
		}
		if c.want != "" && a.String() != c.want {
			t.Errorf("parseIPv4(%q) = %v, want %s", c.in, a, c.want)
		}
	}
}

func listen(t *testing.T, network, addr string) net.Listener {
	t.Helper()
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Skipf("cannot listen on %s: %v", addr, err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return ln
}

func TestDialContext(t *testing.T) {
	ln := listen(t, "tcp", "127.0.0.1:0")
	port := ln.Addr().(*net.TCPAddr).Port
	at := func(host string) string { return net.JoinHostPort(host, fmt.Sprint(port)) }
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	cases := []struct {
		dev  bool
		addr string
		ok   bool
	}{
		{true, at("127.0.0.1"), true},
		{true, at("localhost"), true},
		{true, at("LOCALHOST"), true},
		{false, at("127.0.0.1"), false},
		{false, at("localhost"), false},
		// A name resolving to loopback or a private address is refused even in dev mode.
		{true, at("localtest.example.com"), false},
		{true, at("rebind.example.com"), false},
		{true, at("mixed.example.com"), false},
		{true, at("127.1"), false},
		{true, at("2130706433"), false},
		{true, at("::ffff:127.0.0.1"), false},
		{true, at("169.254.169.254"), false},
		{true, at("intranet"), false},
	}
	for _, c := range cases {
		p := Policy{Dev: c.dev, Resolver: testResolver()}
		conn, err := p.DialContext(ctx, "tcp", c.addr)
		if c.ok {
			if err != nil {
				t.Errorf("dev=%v dial %s: %v", c.dev, c.addr, err)
				continue
			}
			if got := conn.RemoteAddr().(*net.TCPAddr).IP.String(); got != "127.0.0.1" {
				t.Errorf("dev=%v dial %s connected to %s", c.dev, c.addr, got)
			}
			conn.Close()
			continue
		}
		if err == nil {
			conn.Close()
			t.Errorf("dev=%v dial %s succeeded, want refusal", c.dev, c.addr)
			continue
		}
		var ne *Error
		if !errors.As(err, &ne) || (ne.Code != CodeHostNotAllowed && ne.Code != CodeInvalidURL) {
			t.Errorf("dev=%v dial %s: %v, want a netguard refusal", c.dev, c.addr, err)
		}
	}
	if _, err := (Policy{}).DialContext(ctx, "udp", "8.8.8.8:53"); err == nil {
		t.Error("udp dial allowed")
	}
}

func TestDialContextIPv6Loopback(t *testing.T) {
	ln := listen(t, "tcp6", "[::1]:0")
	addr := ln.Addr().String()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Policy{Dev: true}.DialContext(ctx, "tcp", addr)
	if err != nil {
		t.Fatalf("dev dial %s: %v", addr, err)
	}
	c.Close()
	if c, err := (Policy{}).DialContext(ctx, "tcp", addr); err == nil {
		c.Close()
		t.Fatalf("production dial %s succeeded", addr)
	}
}

// TestDialContextRebinding: the name resolves to a public address at check
// time and to loopback afterwards. CheckURL passes; the dial resolves once,
// sees loopback and refuses.
func TestDialContextRebinding(t *testing.T) {
	r := newFakeResolver(map[string][][]string{
		"rebinding.example.com": {{"93.184.216.34"}, {"127.0.0.1"}},
	})
	p := Policy{Dev: true, Resolver: r}
	ctx := context.Background()
	if err := p.CheckURL(ctx, "https://rebinding.example.com/hook"); err != nil {
		t.Fatalf("first resolution is public, CheckURL: %v", err)
	}
	_, err := p.DialContext(ctx, "tcp", "rebinding.example.com:443")
	var ne *Error
	if !errors.As(err, &ne) || ne.Code != CodeHostNotAllowed {
		t.Fatalf("dial after rebinding: %v, want %s", err, CodeHostNotAllowed)
	}
	if n := r.count("rebinding.example.com"); n != 2 {
		t.Fatalf("resolver called %d times, want 2 (one per check)", n)
	}
}

// TestDialContextConnectsToCheckedIP: a dial that passes the check goes to the
// resolved address without resolving again (the cancelled context makes the
// connect fail without touching the network).
func TestDialContextConnectsToCheckedIP(t *testing.T) {
	r := testResolver()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Policy{Resolver: r}.DialContext(ctx, "tcp4", "hooks.example.com:443")
	if err == nil {
		t.Fatal("dial with a cancelled context succeeded")
	}
	var ne *Error
	if errors.As(err, &ne) {
		t.Fatalf("public address refused: %v", err)
	}
	if !strings.Contains(err.Error(), "93.184.216.34:443") {
		t.Fatalf("dial did not target the checked address: %v", err)
	}
	if n := r.count("hooks.example.com"); n != 1 {
		t.Fatalf("resolver called %d times, want 1", n)
	}
}

func TestControlRechecks(t *testing.T) {
	cases := []struct {
		allowLoopback bool
		addr          string
		ok            bool
	}{
		{false, "127.0.0.1:80", false},
		{true, "127.0.0.1:80", true},
		{true, "[::1]:80", true},
		{true, "10.0.0.1:80", false},
		{false, "[::ffff:169.254.169.254]:80", false},
		{false, "93.184.216.34:443", true},
	}
	for _, c := range cases {
		err := controlFor(c.allowLoopback)("tcp", c.addr, nil)
		if (err == nil) != c.ok {
			t.Errorf("control(loopback=%v, %s) = %v", c.allowLoopback, c.addr, err)
		}
	}
}
