package main

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"livegate.dev/cloud/internal/webhook"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestWebhookListen: the receiver rejects a badly signed delivery (400),
// accepts a correctly signed one (204), prints it and exits after --count.
func TestWebhookListen(t *testing.T) {
	secret := "whsec_listen_test"
	urlFile := filepath.Join(t.TempDir(), "url")
	var out lockedBuffer
	cmd := webhookListenCmd()
	cmd.SetOut(&out)
	cmd.SetArgs([]string{"--addr", "127.0.0.1:0", "--secret", secret, "--count", "1", "--url-file", urlFile})
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(context.Background()) }()
	var url string
	for deadline := time.Now().Add(10 * time.Second); url == ""; {
		if b, err := os.ReadFile(urlFile); err == nil && len(b) > 0 {
			url = string(b)
		} else if time.Now().After(deadline) {
			t.Fatal("receiver did not start")
		} else {
			time.Sleep(5 * time.Millisecond)
		}
	}
	body := []byte(`{"id":"evt_1","type":"session.completed","created":1,"data":{"session_id":"ses_1"}}`)
	send := func(sig string) int {
		req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
		req.Header.Set("Livegate-Signature", sig)
		req.Header.Set("Livegate-Event-Id", "evt_1")
		req.Header.Set("Livegate-Attempt", "1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	now := time.Now()
	if code := send(webhook.Sign([][]byte{[]byte("whsec_other")}, now, body)); code != 400 {
		t.Fatalf("wrong secret: %d", code)
	}
	if code := send(webhook.Sign([][]byte{[]byte(secret)}, now, body)); code != 204 {
		t.Fatalf("right secret: %d", code)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("did not exit after --count 1")
	}
	s := out.String()
	if !strings.Contains(s, "REJECTED event evt_1") || !strings.Contains(s, "event evt_1 session.completed (attempt 1, signature verified)") {
		t.Fatalf("output:\n%s", s)
	}
}
