package mount

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"livegate.dev/cloud/internal/api/daemon"
	"livegate.dev/cloud/internal/api/lifecycle"
	"livegate.dev/cloud/internal/capture"
	"livegate.dev/cloud/internal/core"
	"livegate.dev/cloud/internal/pgtest"
)

// TestMountedSharedThrottle: with PostgresDSN the WebSocket refuses a
// user that another replica has put into a cool-down, under the budget the
// user's tenant set through the admin API; a plain HTTP request then gets
// 429 with Retry-After and retry_after in the API's envelope. With the
// throttle's database gone the route still serves (each replica then counts
// in its own memory).
func TestMountedSharedThrottle(t *testing.T) {
	srv := pgtest.Start(t)
	master := strings.Repeat("ab", 32)
	dir := t.TempDir()
	d, err := daemon.Start(context.Background(), daemon.Options{Addr: "127.0.0.1:0", DataDir: dir, MasterKeyHex: master, AdminToken: "adm",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Routes: Routes(Options{ModelSets: 1, PostgresDSN: srv.DSN()})})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Shutdown(context.Background())
	session := func() (string, *core.Session) {
		c, err := d.Sessions().Create(context.Background(), lifecycle.Principal{Kind: lifecycle.PrincipalLegacy}, core.KindManaged,
			lifecycle.CreateRequest{Mode: "passive", UserID: "alice"}, "")
		if err != nil {
			t.Fatal(err)
		}
		return "ws://" + d.Addr().String() + "/api/v1/session/" + c.Session.ID + "/ws?token=" + url.QueryEscape(c.ClientToken), c.Session
	}
	// firstMessage sends a frame that is not a JPEG and returns the first
	// message's code, or the close code.
	firstMessage := func(ws string) (string, int) {
		conn, _, err := websocket.DefaultDialer.Dial(ws, nil)
		if err != nil {
			t.Fatalf("WebSocket: %v", err)
		}
		defer conn.Close()
		conn.WriteMessage(websocket.BinaryMessage, []byte("not a jpeg"))
		var m capture.Message
		if err := conn.ReadJSON(&m); err != nil {
			t.Fatalf("reading: %v", err)
		}
		if m.Code == capture.ErrThrottled {
			_, _, err := conn.ReadMessage()
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				return m.Code, ce.Code
			}
		}
		return m.Code, 0
	}

	// Another replica (same master key, same database) records 5 failures
	// of the user.
	key, _ := hex.DecodeString(master)
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("livegate capture throttle key"))
	other, err := capture.OpenPGThrottle(context.Background(), srv.DSN(), capture.PGThrottleConfig{Key: mac.Sum(nil)})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	now := time.Now()
	ws, sess := session()
	for range 5 {
		other.Fail(capture.UserKey(sess), capture.DefaultPolicy().User, now)
	}
	if code, close := firstMessage(ws); code != capture.ErrThrottled || close != capture.CloseThrottled {
		t.Fatalf("after 5 failures on another replica: %q close %d, want %q close %d", code, close, capture.ErrThrottled, capture.CloseThrottled)
	}

	// A tenant allows one failure per user and cools down for 30 s.
	base := "http://" + d.Addr().String()
	call := func(method, path, key, body string, out any) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatalf("%s %s: %d, %v", method, path, resp.StatusCode, err)
		}
		return resp
	}
	var ten struct {
		TenantID string `json:"tenant_id"`
		APIKey   string `json:"api_key"`
	}
	call("POST", "/admin/v1/tenants", "adm", `{"name":"branches","mode":"live"}`, &ten)
	var view struct {
		Settings struct {
			CaptureThrottle map[string]any `json:"capture_throttle"`
		} `json:"settings"`
	}
	if r := call("PUT", "/admin/v1/tenants/"+ten.TenantID+"/settings", "adm", `{"capture_throttle":{"user_limit":1,"cooldown_seconds":30}}`, &view); r.StatusCode != 200 ||
		view.Settings.CaptureThrottle["user_limit"] != float64(1) || view.Settings.CaptureThrottle["address_limit"] != float64(100) {
		t.Fatalf("settings: %d %+v", r.StatusCode, view)
	}
	var created struct {
		SessionID   string `json:"session_id"`
		ClientToken string `json:"client_token"`
	}
	call("POST", "/api/v1/managed-session", ten.APIKey, `{"user_id":"bob","mode":"passive"}`, &created)
	bob := &core.Session{ID: created.SessionID, Kind: core.KindManaged, TenantID: ten.TenantID, UserID: "bob"}
	tenant := &core.Tenant{Settings: core.TenantSettings{CaptureThrottle: core.CaptureThrottle{UserLimit: ptr(1), CooldownSeconds: ptr(30)}}}
	if b, _ := other.Fail(capture.UserKey(bob), capture.PolicyFor(bob, tenant).User, time.Now()); !b {
		t.Fatal("one failure under a limit of 1 does not cool down")
	}
	wsPath := "/api/v1/session/" + created.SessionID + "/ws?token=" + url.QueryEscape(created.ClientToken)
	var env struct {
		Detail struct {
			Code       string `json:"code"`
			RequestID  string `json:"request_id"`
			RetryAfter int    `json:"retry_after"`
		} `json:"detail"`
	}
	r := call("GET", wsPath, "", "", &env)
	if ra, _ := strconv.Atoi(r.Header.Get("Retry-After")); r.StatusCode != 429 || ra < 29 || ra > 30 || env.Detail.Code != capture.CodeThrottled.ID ||
		env.Detail.RetryAfter != ra || env.Detail.RequestID == "" {
		t.Fatalf("plain GET of a user cooling down: %d Retry-After %q %+v", r.StatusCode, r.Header.Get("Retry-After"), env)
	}
	conn, resp, err := websocket.DefaultDialer.Dial("ws://"+d.Addr().String()+wsPath, nil)
	if err != nil {
		t.Fatalf("WebSocket of a user cooling down: %v", err)
	}
	var m capture.Message
	err = conn.ReadJSON(&m)
	conn.Close()
	if ra, _ := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || ra < 29 || m.Code != capture.ErrThrottled || m.RetryAfter != ra {
		t.Fatalf("WebSocket of a user cooling down: Retry-After %q, %+v %v", resp.Header.Get("Retry-After"), m, err)
	}

	// The throttle's database goes away: the route still serves.
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	// (This replica's own memory never saw the other's failures.)
	ws, _ = session()
	if code, close := firstMessage(ws); code != capture.ErrBadFrame {
		t.Fatalf("with the throttle database down: %q close %d, want %q", code, close, capture.ErrBadFrame)
	}
}

func ptr[T any](v T) *T { return &v }
