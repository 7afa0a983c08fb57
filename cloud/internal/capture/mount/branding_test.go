package mount

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"livegate.dev/cloud/internal/api/daemon"
	"livegate.dev/cloud/internal/api/lifecycle"
	"livegate.dev/cloud/internal/core"
)

// TestMountedBranding: what a tenant sets through the admin API — brand
// name, accent colour, texts, logo — reaches its sessions' pages served by
// the daemon, the logo from the page's own origin.
func TestMountedBranding(t *testing.T) {
	dir := t.TempDir()
	d, err := daemon.Start(context.Background(), daemon.Options{Addr: "127.0.0.1:0", DataDir: dir, AdminToken: "adm",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Routes: Routes(Options{DataDir: dir, ModelSets: 1})})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Shutdown(context.Background())
	base := "http://" + d.Addr().String()
	do := func(method, path, ct string, body []byte, hdr ...string) (int, http.Header, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer adm")
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, b
	}
	st, _, b := do("POST", "/admin/v1/tenants", "application/json", []byte(`{"name":"acme","mode":"live"}`))
	var nt struct {
		TenantID string `json:"tenant_id"`
	}
	if err := json.Unmarshal(b, &nt); st != 201 || err != nil {
		t.Fatalf("creating a tenant: %d %s", st, b)
	}
	tp := "/admin/v1/tenants/" + nt.TenantID + "/capture-page"
	if st, _, b := do("PUT", tp, "application/json", []byte(`{"brand_name":"Acme Bank","accent_color":"#1a7f37","messages":{"es":{"welcome.title":"Verifique su identidad con Acme"}}}`)); st != 200 {
		t.Fatalf("PUT capture-page: %d %s", st, b)
	}
	logo := image.NewNRGBA(image.Rect(0, 0, 120, 40))
	for i := range 40 {
		logo.Set(i, i, color.NRGBA{0x1a, 0x7f, 0x37, 0xff})
	}
	var lb bytes.Buffer
	png.Encode(&lb, logo)
	if st, _, b := do("PUT", tp+"/logo", "image/png", lb.Bytes()); st != 200 {
		t.Fatalf("PUT logo: %d %s", st, b)
	}

	c, err := d.Sessions().Create(context.Background(), lifecycle.Principal{Kind: lifecycle.PrincipalTenant, TenantID: nt.TenantID, KeyID: "key_x"},
		core.KindManaged, lifecycle.CreateRequest{Mode: "active"}, "")
	if err != nil {
		t.Fatal(err)
	}
	st, hdr, page := do("GET", "/s/"+c.Session.ID+"?t="+url.QueryEscape(c.ClientToken), "", nil, "Accept-Language", "es-ES,es;q=0.9")
	body := string(page)
	for _, want := range []string{`<html lang="es" dir="ltr">`, "<span>Acme Bank</span>", "Verifique su identidad con Acme", ":root{--pri:#1a7f37}", `/logo?t=`} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if st != 200 || !strings.Contains(hdr.Get("Content-Security-Policy"), "img-src 'self' data: blob:") || hdr.Get("Content-Language") != "es" {
		t.Fatalf("page: %d, CSP %q", st, hdr.Get("Content-Security-Policy"))
	}
	st, hdr, img := do("GET", "/s/"+c.Session.ID+"/logo?t="+url.QueryEscape(c.ClientToken), "", nil)
	if st != 200 || hdr.Get("Content-Type") != "image/png" {
		t.Fatalf("logo: %d %s", st, hdr.Get("Content-Type"))
	}
	if m, err := png.Decode(bytes.NewReader(img)); err != nil || m.Bounds().Dx() != 120 {
		t.Fatalf("logo served: %v", err)
	}
}
