package servertls

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestRedirect: the plain listener sends every request to the same path
// and query over HTTPS, with no Strict-Transport-Security.
func TestRedirect(t *testing.T) {
	cases := []struct {
		name       string
		tlsPort    int
		publicURL  string
		permanent  bool
		method     string
		host, path string
		want       string
		status     int
	}{
		{name: "dev, request's host on the TLS port", tlsPort: 8443, method: "GET", host: "localhost:8000", path: "/s/ses_1?t=x",
			want: "https://localhost:8443/s/ses_1?t=x", status: http.StatusTemporaryRedirect},
		{name: "POST keeps its method (307/308)", tlsPort: 8443, method: "POST", host: "127.0.0.1:8000", path: "/api/v1/session",
			want: "https://127.0.0.1:8443/api/v1/session", status: http.StatusTemporaryRedirect},
		{name: "IPv6", tlsPort: 8443, method: "GET", host: "[::1]:8000", path: "/readyz", want: "https://[::1]:8443/readyz", status: http.StatusTemporaryRedirect},
		{name: "production on 443", tlsPort: 443, permanent: true, method: "GET", host: "cloud.example.com", path: "/",
			want: "https://cloud.example.com/", status: http.StatusPermanentRedirect},
		{name: "IPv6 on 443", tlsPort: 443, permanent: true, method: "GET", host: "[2001:db8::1]:80", path: "/x",
			want: "https://[2001:db8::1]/x", status: http.StatusPermanentRedirect},
		{name: "public URL wins", tlsPort: 8443, publicURL: "https://cloud.example.com:9443/base", permanent: true, method: "GET",
			host: "10.0.0.5:8000", path: "/healthz", want: "https://cloud.example.com:9443/healthz", status: http.StatusPermanentRedirect},
		{name: "an http public URL is not a target", tlsPort: 8443, publicURL: "http://cloud.example.com", method: "GET",
			host: "cloud.example.com:8000", path: "/", want: "https://cloud.example.com:8443/", status: http.StatusTemporaryRedirect},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, "http://"+tc.host+tc.path, strings.NewReader("{}"))
			w := httptest.NewRecorder()
			Redirect(tc.tlsPort, tc.publicURL, tc.permanent).ServeHTTP(w, r)
			if w.Code != tc.status || w.Header().Get("Location") != tc.want {
				t.Fatalf("%d %s, want %d %s", w.Code, w.Header().Get("Location"), tc.status, tc.want)
			}
			if h := w.Header().Get("Strict-Transport-Security"); h != "" {
				t.Fatalf("Strict-Transport-Security over plain HTTP: %q", h)
			}
			if noStore := w.Header().Get("Cache-Control") == "no-store"; noStore == tc.permanent {
				t.Fatalf("Cache-Control %q with permanent=%v", w.Header().Get("Cache-Control"), tc.permanent)
			}
		})
	}
}

func TestHSTS(t *testing.T) {
	for _, tc := range []struct {
		in   time.Duration
		want string
	}{{DefaultHSTSMaxAge, "max-age=31536000"}, {0, "max-age=0"}, {90*time.Second + time.Millisecond, "max-age=90"}, {-1, ""}} {
		if got := HSTS(tc.in); got != tc.want {
			t.Errorf("HSTS(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
