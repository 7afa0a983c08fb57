package mount

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"livegate.dev/cloud/internal/api/daemon"
	"livegate.dev/cloud/internal/capture"
	"livegate.dev/cloud/internal/core"
)

// TestRateLimitsPageShowsThrottle: /docs/reference/rate-limits shows the
// failed-capture throttle of the capture WebSocket as its limiter applies
// it to a session without tenant settings (capture.PolicyFor), with the
// tenant settings' ranges, and the WebSocket's row links both limits. No
// request reaches the engines: the page needs no model.
func TestRateLimitsPageShowsThrottle(t *testing.T) {
	d, err := daemon.Start(context.Background(), daemon.Options{Addr: "127.0.0.1:0", DataDir: t.TempDir(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Routes: Routes(Options{ModelSets: 1})})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Shutdown(context.Background())
	resp, err := http.Get("http://" + d.Addr().String() + "/docs/reference/rate-limits")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	page := string(b)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %.300s", resp.StatusCode, page)
	}
	applied := capture.PolicyFor(&core.Session{Kind: core.KindManaged, TenantID: "ten_x", UserID: "u"}, nil)
	for _, c := range []struct {
		id          string
		rule        capture.Rule
		limitSet    string
		limitRange  int
		whoseBudget string
	}{
		{"capture-user", applied.User, "capture_throttle.user_limit", core.MaxThrottleUserLimit, "end user"},
		{"capture-address", applied.Address, "capture_throttle.address_limit", core.MaxThrottleAddressLimit, "client address"},
	} {
		sec := regexp.MustCompile(`(?s)<section class="op" id="` + c.id + `" data-limit="(\d+)" data-window-seconds="(\d+)" data-cooldown-seconds="(\d+)">(.*?)</section>`).FindStringSubmatch(page)
		if sec == nil {
			t.Errorf("no section %s on the page", c.id)
			continue
		}
		want := []string{fmt.Sprint(c.rule.Limit), fmt.Sprint(int(c.rule.Window / time.Second)), fmt.Sprint(int(c.rule.Cooldown / time.Second))}
		if sec[1] != want[0] || sec[2] != want[1] || sec[3] != want[2] {
			t.Errorf("%s: limit, window, cool-down %q, the limiter applies %q", c.id, sec[1:4], want)
		}
		for _, s := range []string{c.limitSet + fmt.Sprintf(" (1–%d)", c.limitRange), fmt.Sprintf("(1–%d, shared by both limits)", core.MaxThrottleSeconds),
			c.whoseBudget, capture.CodeThrottled.ID, "/docs/api#captureWebSocket", "test_exempt"} {
			if !strings.Contains(sec[4], s) {
				t.Errorf("%s does not say %q", c.id, s)
			}
		}
	}
	if !regexp.MustCompile(`<tr id="rl-captureWebSocket" data-per="credential">.*<a href="#capture-user">Failed captures per end user</a>, <a href="#capture-address">Failed captures per client address</a>`).MatchString(page) {
		t.Error("the WebSocket's row does not link the throttle")
	}
}
