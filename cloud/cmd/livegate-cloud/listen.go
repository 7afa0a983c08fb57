package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"livegate.dev/cloud/internal/webhook"
)

// webhookListenCmd is a local webhook receiver for development and the
// demo: it verifies Livegate-Signature with the tenant's secret and prints
// each event.
func webhookListenCmd() *cobra.Command {
	var (
		addr, secret, urlFile string
		count                 int
		tolerance             time.Duration
	)
	cmd := &cobra.Command{
		Use:   "webhook-listen",
		Short: "Receive webhooks locally, verify their signatures and print the events",
		Long: `Receive webhooks on http://<addr>/ (use it with serve --dev), verify the
Livegate-Signature header against --secret (env LIVEGATE_WEBHOOK_SECRET) and
print each event. Unsigned or badly signed deliveries are answered 400 and
reported, unless no secret is given (legacy-key sessions are unsigned).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if secret == "" {
				secret = os.Getenv("LIVEGATE_WEBHOOK_SECRET")
			}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return fmt.Errorf("listen on %s: %w", addr, err)
			}
			out := cmd.OutOrStdout()
			url := "http://" + ln.Addr().String() + "/"
			fmt.Fprintf(out, "webhook-listen: receiving on %s (signature check: %v)\n", url, secret != "")
			if urlFile != "" {
				if err := os.WriteFile(urlFile, []byte(url), 0o644); err != nil {
					return err
				}
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			var mu sync.Mutex
			verified := 0
			done := make(chan struct{})
			srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
				if err != nil || r.Method != http.MethodPost {
					http.Error(w, "POST a webhook", http.StatusBadRequest)
					return
				}
				sig := r.Header.Get("Livegate-Signature")
				status := "unsigned"
				if secret != "" {
					if err := webhook.Verify(sig, body, []byte(secret), tolerance, time.Now()); err != nil {
						fmt.Fprintf(out, "REJECTED event %s: %v\n", r.Header.Get("Livegate-Event-Id"), err)
						http.Error(w, "bad signature", http.StatusBadRequest)
						return
					}
					status = "signature verified"
				}
				var ev struct {
					ID   string          `json:"id"`
					Type string          `json:"type"`
					Data json.RawMessage `json:"data"`
				}
				_ = json.Unmarshal(body, &ev)
				var pretty any
				_ = json.Unmarshal(body, &pretty)
				indented, _ := json.MarshalIndent(pretty, "  ", "  ")
				mu.Lock()
				defer mu.Unlock()
				fmt.Fprintf(out, "event %s %s (attempt %s, %s)\n  %s\n", ev.ID, ev.Type, r.Header.Get("Livegate-Attempt"), status, indented)
				w.WriteHeader(http.StatusNoContent)
				verified++
				if count > 0 && verified == count {
					close(done)
				}
			})}
			errc := make(chan error, 1)
			go func() { errc <- srv.Serve(ln) }()
			select {
			case <-ctx.Done():
			case <-done:
			case err := <-errc:
				return err
			}
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&addr, "addr", "127.0.0.1:9000", "address to listen on")
	f.StringVar(&secret, "secret", "", "the tenant's webhook secret (whsec_…)")
	f.IntVar(&count, "count", 0, "exit after this many accepted events (0: run until interrupted)")
	f.StringVar(&urlFile, "url-file", "", "write the receiver's URL to this file once listening")
	f.DurationVar(&tolerance, "tolerance", webhook.DefaultTolerance, "accepted age of a signature timestamp")
	return cmd
}
