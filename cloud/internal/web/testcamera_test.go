package web

import (
	"context"
	"encoding/json"
	"html"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"livegate.dev/cloud/internal/api/lifecycle"
	"livegate.dev/cloud/internal/core"
	"livegate.dev/models/lightsim"
)

var cfgRe = regexp.MustCompile(`(?s)<script type="application/json" id="cfg"[^>]*>(.*?)</script>`)

// pageConfigOf fetches a session's page and decodes its JSON config.
func pageConfigOf(t *testing.T, e *env, p lifecycle.Principal, kind core.SessionKind) (pageConfig, string) {
	t.Helper()
	c, err := e.sessions.Create(context.Background(), p, kind, lifecycle.CreateRequest{Mode: "passive"}, "")
	if err != nil {
		t.Fatal(err)
	}
	// ?camera=simulated asks for the simulated camera: only a test-mode
	// session's page may honour it.
	st, body := e.do(t, "GET", "/s/"+c.Session.ID+"?t="+url.QueryEscape(c.ClientToken)+"&camera=simulated")
	if st != 200 {
		t.Fatalf("page: %d %.300s", st, body)
	}
	m := cfgRe.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no page config in %.300s", body)
	}
	var pc pageConfig
	if err := json.Unmarshal([]byte(html.UnescapeString(m[1])), &pc); err != nil {
		t.Fatalf("page config %s: %v", m[1], err)
	}
	return pc, body
}

// TestTestCameraOnlyForTestKeys: the simulated reflection camera (its
// config, option, badge and script) is on the page of a session created with
// a test-mode key and on no other: live keys, the legacy key and keyless
// direct sessions never get it, whatever the page's URL asks.
func TestTestCameraOnlyForTestKeys(t *testing.T) {
	testKey := lifecycle.Principal{Kind: lifecycle.PrincipalTenant, TenantID: "ten_a", KeyID: "key_t", Test: true}
	liveKey := lifecycle.Principal{Kind: lifecycle.PrincipalTenant, TenantID: "ten_a", KeyID: "key_l"}
	for _, tc := range []struct {
		name, setting string
		p             lifecycle.Principal
		kind          core.SessionKind
		want, auto    bool
	}{
		{"test key", "", testKey, core.KindManaged, true, false},
		{"test key, auto", TestCameraAuto, testKey, core.KindManaged, true, true},
		{"test key, off", TestCameraOff, testKey, core.KindManaged, false, false},
		{"live key", "", liveKey, core.KindManaged, false, false},
		{"live key, auto", TestCameraAuto, liveKey, core.KindManaged, false, false},
		{"legacy key, auto", TestCameraAuto, lifecycle.Principal{Kind: lifecycle.PrincipalLegacy, Test: true}, core.KindManaged, false, false},
		{"direct, auto", TestCameraAuto, lifecycle.Principal{Test: true}, core.KindDirect, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnvWith(t, tc.setting)
			pc, body := pageConfigOf(t, e, tc.p, tc.kind)
			has := strings.Contains(body, `id="sim-on"`) || strings.Contains(body, `id="sim-badge"`) ||
				strings.Contains(body, "Test mode: simulated camera") || strings.Contains(body, "cfg.test_camera.params")
			if got := pc.TestCamera != nil; got != tc.want || has != tc.want {
				t.Fatalf("test_camera in config %v, simulator in page %v; want %v", got, has, tc.want)
			}
			if !tc.want {
				if !strings.Contains(body, "const sim = null;") {
					t.Fatal("the page without the simulated camera does not say so to its script")
				}
				return
			}
			if pc.TestCamera.Auto != tc.auto || pc.TestCamera.Params != lightsim.DefaultParams() || !pc.Test {
				t.Fatalf("test_camera %+v (test %v), want auto %v with lightsim.DefaultParams", *pc.TestCamera, pc.Test, tc.auto)
			}
		})
	}
}

func TestNewRejectsUnknownTestCamera(t *testing.T) {
	if _, err := New(Config{Sessions: &lifecycle.Service{}, PublicURL: "https://x", TestCamera: "always"}); err == nil {
		t.Fatal("TestCamera \"always\" accepted")
	}
}

func TestPageWeightTestMode(t *testing.T) {
	live, test := PageWeight(), PageWeightTestMode()
	if test > 40_000 || test <= live {
		t.Fatalf("page weighs %d bytes for a live session and %d for a test-mode one; keep both under 40 kB", live, test)
	}
	t.Logf("page weight: %d bytes (live), %d bytes (test mode, with the simulated camera)", live, test)
}
