package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"livegate.dev/cloud/internal/api"
)

// TestEphemeralHandoffBrowser: the seed 004 handoff in Chromium. The
// integrator's backend makes an ephemeral device and starts a session of a
// passive workflow; the desktop opens /capture?url=… and shows the QR code;
// a phone-sized tab opens the /mobile link, agrees, and captures with the
// fake camera; the desktop page follows it to the end.
func TestEphemeralHandoffBrowser(t *testing.T) {
	s := newAPIServer(t)
	var list api.TenantList
	s.call(t, "GET", "/admin/v1/tenants", adminToken, "", 200, &list)
	if len(list.Tenants) != 1 {
		t.Fatalf("tenants %+v", list)
	}
	s.call(t, "PUT", "/admin/v1/tenants/"+list.Tenants[0].TenantID+"/workflows", adminToken,
		`{"workflows": {"signup": {"flow": "liveness", "mode": "passive"}}}`, 200, nil)
	var dev api.EphemeralDevice
	s.call(t, "POST", "/api/device/ephemeral", s.key, `{"ttl": 3600}`, 201, &dev)
	var es api.EphemeralSession
	s.call(t, "POST", "/api/sessions?workflowId=signup", dev.Authorization, `{"metadata": {"externalUserId": "user_e2e"}}`, 201, &es)

	desk := browser(t, genuineY4M(t))
	if err := chromedp.Do(desk, chromedp.Navigate(es.HandoffURL)); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(desk, chromedp.Poll[bool](`!!document.querySelector("#qr svg")`, chromedp.WithPollingTimeout(deadline))); err != nil {
		t.Fatalf("no QR code on the desktop page: %v", err)
	}
	link, err := chromedp.Run(desk, chromedp.Evaluate[string](`document.getElementById("open").href`))
	if err != nil || !strings.Contains(link, "/mobile?authorization=") || !strings.Contains(link, "sessionId="+es.SessionID) {
		t.Fatalf("the button's link %q (%v)", link, err)
	}

	// The phone: a second tab, phone-sized, opens the link.
	phone, cancel := chromedp.NewContext(desk)
	defer cancel()
	if err := chromedp.Do(phone, chromedp.EmulateViewport(390, 780, chromedp.EmulateScale(2)), chromedp.Navigate(link)); err != nil {
		t.Fatal(err)
	}
	giveConsent(t, phone)
	if err := chromedp.Do(phone, chromedp.Click("#b-start")); err != nil {
		t.Fatal(err)
	}
	waitScreen(t, phone, "capture")
	waitScreen(t, phone, "result")
	pv, _ := chromedp.Run(phone, chromedp.Evaluate[string](`document.body.dataset.verdict`))

	// The desktop follows it to the end (it reloads itself until then).
	// Each reload replaces the page, so the check is retried across them.
	end := time.Now().Add(deadline)
	for {
		st, err := chromedp.Run(desk, chromedp.Evaluate[string](`(document.getElementById("state") || {dataset: {}}).dataset.status || ""`))
		if err == nil && st == "completed" {
			break
		}
		if err != nil && !transientContextErr(err) {
			t.Fatalf("reading the desktop page: %v", err)
		}
		if time.Now().After(end) {
			t.Fatalf("the desktop page did not follow the phone to the end: it shows %q", st)
		}
		<-time.After(200 * time.Millisecond)
	}
	var got api.EphemeralSession
	s.call(t, "GET", "/api/sessions/"+es.SessionID, dev.Authorization, "", 200, &got)
	if got.Status != "completed" || got.Decision == nil || got.ExternalUserID == nil || *got.ExternalUserID != "user_e2e" ||
		len(got.Checks) != 1 || got.Checks[0].Status != pv {
		t.Fatalf("session %+v, the phone showed %q", got, pv)
	}
	if _, err := s.sessions.Get(context.Background(), es.SessionID); err != nil {
		t.Fatal(err)
	}
	t.Logf("handoff: the phone showed %q, the decision is %s", pv, *got.Decision)
}
