package e2e

import (
	"context"
	"regexp"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"livegate.dev/cloud/internal/api/lifecycle"
	"livegate.dev/cloud/internal/capture"
	"livegate.dev/cloud/internal/clock"
	"livegate.dev/cloud/internal/core"
)

// TestThrottleCountdown: a user who has used up their failed attempts
// opens the page of the next session their integrator made. The capture is
// refused with retry_after, and the page says so in plain words, counts the
// wait down (a timer, announced to screen readers through a polite live
// region) and enables "Try again" only at zero; after the cool-down, "Try
// again" captures. The tenant's settings make the cool-down 3 s and count
// test-mode sessions; the server's clock is a fake one, so the refusal's
// length does not depend on how fast the browser starts.
func TestThrottleCountdown(t *testing.T) {
	clk := clock.NewFake(time.Now())
	s := newServerOpts(t, serverOpts{Tenants: true, Clock: clk})
	bg := context.Background()
	nt, err := s.tenants.Create(bg, "acme", core.TenantTest)
	if err != nil {
		t.Fatal(err)
	}
	three, counted := 3, false
	if _, err := s.tenants.SetSettings(bg, nt.Tenant.ID, core.TenantSettings{CaptureThrottle: core.CaptureThrottle{
		CooldownSeconds: &three, TestExempt: &counted}}); err != nil {
		t.Fatal(err)
	}
	managed := func() *lifecycle.Created {
		c, err := s.sessions.Create(bg, lifecycle.Principal{Kind: lifecycle.PrincipalTenant, TenantID: nt.Tenant.ID, Test: true},
			core.KindManaged, lifecycle.CreateRequest{UserID: "u-1", Mode: "passive", RedirectURL: s.base + "/done"}, "")
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	// Five failed attempts of the user, recorded as the capture records
	// them (the capture tests make real ones: TestThrottleBehindOneAddress).
	lim := capture.NewLimiter(s.throttle, s.tenants, nil)
	sub := lim.Subject(bg, managed().Session, "127.0.0.1")
	for range 5 {
		lim.Fail(sub, clk.Now())
	}

	c := managed()
	ctx := browser(t, "")
	if err := chromedp.Do(ctx, chromedp.Navigate(c.SessionURL)); err != nil {
		t.Fatal(err)
	}
	giveConsent(t, ctx)
	if err := chromedp.Do(ctx, chromedp.Click("#b-start")); err != nil {
		t.Fatal(err)
	}
	waitScreen(t, ctx, "error")
	shown := time.Now()
	type screen struct {
		Title, Text, Wait, Live, LiveMode, Role, Data string
		Disabled, Hidden                              bool
	}
	read := func() screen {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[screen](`(() => { const $ = (id) => document.getElementById(id); return {
			Title: $("h-error").textContent, Text: $("e-text").textContent, Wait: $("e-wait").textContent, Live: $("e-live").textContent,
			LiveMode: $("e-live").getAttribute("aria-live"), Role: $("e-wait").getAttribute("role"), Data: document.body.dataset.wait || "",
			Disabled: $("b-reconnect").disabled, Hidden: $("b-reconnect").hidden }; })()`))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	first := read()
	if first.Title != "Please wait before trying again" || !regexp.MustCompile(`too many unsuccessful attempts`).MatchString(first.Text) ||
		!regexp.MustCompile(`^You can try again in 0:0[1-3]\.$`).MatchString(first.Wait) || first.Live != "You can try again in 3 seconds." ||
		first.LiveMode != "polite" || first.Role != "timer" || !first.Disabled || first.Hidden {
		t.Fatalf("the waiting screen: %+v", first)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`!document.getElementById("b-reconnect").disabled`,
		chromedp.WithPollingTimeout(deadline), chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
		t.Fatalf("Try again never enabled: %v; %+v", err, read())
	}
	waited := time.Since(shown)
	if end := read(); end.Wait != "You can try again now." || end.Live != "You can try again now." || end.Data != "0" {
		t.Fatalf("at zero: %+v", end)
	}
	if waited < 1500*time.Millisecond {
		t.Fatalf("Try again enabled %v after the screen showed a 3 s wait", waited)
	}
	t.Logf("Try again enabled %v after the waiting screen showed", waited.Round(10*time.Millisecond))

	// The server's cool-down ends with the page's: Try again captures.
	clk.Advance(3 * time.Second)
	if err := chromedp.Do(ctx, chromedp.Click("#b-reconnect")); err != nil {
		t.Fatal(err)
	}
	waitScreen(t, ctx, "capture")
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.getElementById("guide").textContent !== "Starting the camera…" || document.body.dataset.screen !== "capture"`,
		chromedp.WithPollingTimeout(deadline))); err != nil {
		t.Fatalf("no guidance after Try again: %v", err)
	}
	waitScreen(t, ctx, "capture") // guidance came from the server: the capture was accepted
}
