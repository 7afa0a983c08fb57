// Package netguard decides which URLs livegate-cloud may send users to
// (redirect_url) and POST webhooks to (webhook_url), and dials outgoing
// connections only to addresses it has checked. It is the service's defence
// against server-side request forgery (SSRF).
//
// A URL is allowed when it is an absolute https URL with a host, without
// userinfo, with a sane port, and its host — an IP literal or a DNS name and
// every address that name resolves to — is a public unicast address: not
// loopback, private (RFC 1918), link-local (169.254/16 with the cloud
// metadata endpoints, fe80::/10), CGNAT (100.64/10), multicast, unspecified,
// broadcast, IPv6 ULA (fc00::/7), documentation, benchmarking or reserved,
// nor one of those embedded in IPv6 (IPv4-mapped, IPv4-compatible, NAT64,
// 6to4, Teredo).
//
// Hosts are read the way resolvers and browsers read them: numeric hosts follow
// inet_aton rules (decimal 2130706433, hex 0x7f.1, octal 0177.0.0.1, short
// forms 127.1), so that no spelling of a forbidden address slips through;
// ambiguous numeric hosts are refused. Single-label names, special-use names
// (localhost, *.local, *.internal, …) and non-ASCII hosts are refused.
//
// With Policy.Dev, http:// and https:// URLs whose host is literally
// 127.0.0.1, ::1 or localhost are accepted as well, for local integration;
// everything else still applies.
//
// CheckURL validates a URL when it is registered and again before every
// delivery. DialContext is the dialer for http.Transport: it resolves, checks
// every address and connects to the checked IP, so DNS rebinding between the
// check and the connection gains nothing. Errors are *Error with a stable
// Code for the API's error envelope.
package netguard
