package captcha

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"livegate.dev/cloud/internal/netguard"
)

// fakeSiteverify answers like hCaptcha's and Turnstile's siteverify: the
// token "good" passes once, "dup" was seen, anything else is refused.
type fakeSiteverify struct {
	mu   sync.Mutex
	seen map[string]bool
	last http.Header
	form map[string]string
}

func (f *fakeSiteverify) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.Method != http.MethodPost {
		http.Error(w, "bad", http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.form = map[string]string{"secret": r.PostForm.Get("secret"), "response": r.PostForm.Get("response"), "remoteip": r.PostForm.Get("remoteip")}
	tok := r.PostForm.Get("response")
	w.Header().Set("Content-Type", "application/json")
	switch {
	case tok == "down":
		http.Error(w, "down", http.StatusBadGateway)
	case r.PostForm.Get("secret") != "s3cret":
		w.Write([]byte(`{"success":false,"error-codes":["invalid-input-secret"]}`))
	case tok == "good" && !f.seen[tok]:
		f.seen[tok] = true
		w.Write([]byte(`{"success":true}`))
	case f.seen[tok]:
		w.Write([]byte(`{"success":false,"error-codes":["timeout-or-duplicate"]}`))
	default:
		w.Write([]byte(`{"success":false,"error-codes":["invalid-input-response"]}`))
	}
}

func TestRemote(t *testing.T) {
	fake := &fakeSiteverify{seen: map[string]bool{}}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	for _, kind := range []string{"hcaptcha", "turnstile"} {
		t.Run(kind, func(t *testing.T) {
			fake.seen = map[string]bool{}
			r, err := NewRemote(context.Background(), RemoteConfig{Kind: kind, Secret: "s3cret", VerifyURL: srv.URL, Policy: netguard.Policy{Dev: true}})
			if err != nil {
				t.Fatal(err)
			}
			for _, tt := range []struct {
				token string
				want  error
			}{{"", ErrRequired}, {"good", nil}, {"good", ErrReplayed}, {"forged", ErrInvalid}, {"down", ErrUnavailable}} {
				if err := r.Verify(context.Background(), tt.token, "203.0.113.9"); !errors.Is(err, tt.want) && !(err == nil && tt.want == nil) {
					t.Fatalf("Verify(%q) = %v, want %v", tt.token, err, tt.want)
				}
			}
			if fake.form["remoteip"] != "203.0.113.9" || fake.form["secret"] != "s3cret" {
				t.Fatalf("form sent: %v", fake.form)
			}
		})
	}
	wrong, err := NewRemote(context.Background(), RemoteConfig{Kind: "turnstile", Secret: "nope", VerifyURL: srv.URL, Policy: netguard.Policy{Dev: true}})
	if err != nil {
		t.Fatal(err)
	}
	if err := wrong.Verify(context.Background(), "good", ""); !errors.Is(err, ErrInvalid) {
		t.Fatalf("wrong secret: %v, want ErrInvalid", err)
	}
}

func TestNewRemoteRefuses(t *testing.T) {
	for _, cfg := range []RemoteConfig{
		{Kind: "recaptcha", Secret: "x"},
		{Kind: "hcaptcha"},
		{Kind: "turnstile", Secret: "x", VerifyURL: "http://127.0.0.1:1/siteverify"},     // http without dev
		{Kind: "hcaptcha", Secret: "x", VerifyURL: "https://169.254.169.254/siteverify"}, // metadata address
	} {
		if _, err := NewRemote(context.Background(), cfg); err == nil {
			t.Errorf("NewRemote(%+v) accepted", cfg)
		}
	}
}
