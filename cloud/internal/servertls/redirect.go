package servertls

import (
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// DefaultHSTSMaxAge is the Strict-Transport-Security max-age served in
// production: a year.
const DefaultHSTSMaxAge = 365 * 24 * time.Hour

// HSTS is the Strict-Transport-Security value for maxAge (whole seconds);
// "" (no header) when maxAge is negative. max-age=0 tells a browser to
// forget the host.
func HSTS(maxAge time.Duration) string {
	if maxAge < 0 {
		return ""
	}
	return "max-age=" + strconv.FormatInt(int64(maxAge/time.Second), 10)
}

// Redirect answers every request on the plain-HTTP listener with a
// redirect to the same path and query over HTTPS, and serves nothing else
// (no Strict-Transport-Security: browsers ignore it over HTTP). The target
// is publicURL's scheme and host when publicURL is an https:// URL, else
// the request's host on tlsPort. permanent chooses 308 over 307; use 307
// where a browser must not remember the redirect (a developer's
// localhost).
func Redirect(tlsPort int, publicURL string, permanent bool) http.Handler {
	var origin string
	if u, err := url.Parse(publicURL); err == nil && u.Scheme == "https" && u.Host != "" {
		origin = "https://" + u.Host
	}
	status := http.StatusTemporaryRedirect
	if permanent {
		status = http.StatusPermanentRedirect
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		target := origin
		if target == "" {
			host := r.Host
			if h, _, err := net.SplitHostPort(r.Host); err == nil {
				host = h
			}
			if host == "" {
				http.Error(w, "this address serves HTTPS only; use https://", http.StatusBadRequest)
				return
			}
			if tlsPort == 443 {
				target = "https://" + bracket(host)
			} else {
				target = "https://" + net.JoinHostPort(host, strconv.Itoa(tlsPort))
			}
		}
		if !permanent {
			w.Header().Set("Cache-Control", "no-store")
		}
		http.Redirect(w, r, target+r.URL.RequestURI(), status)
	})
}

// bracket puts an IPv6 address in brackets for a URL's host.
func bracket(host string) string {
	if ip := net.ParseIP(host); ip != nil && ip.To4() == nil {
		return "[" + host + "]"
	}
	return host
}
