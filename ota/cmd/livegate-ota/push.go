package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// pushOptions are the flags of push.
type pushOptions struct {
	url, tokenEnv, ca string
	rollout, follow   bool
	stages            []float64
	labels            map[string]string
	abortFailures     int
	abortPercent      float64
	reportTimeout     time.Duration
	autoAdvance       time.Duration
	poll              time.Duration
}

// apiRelease is the part of the cloud's release this tool prints.
type apiRelease struct {
	ID       string `json:"id"`
	Manifest struct {
		Kind    string   `json:"kind"`
		Version string   `json:"version"`
		Boards  []string `json:"boards"`
		Archs   []string `json:"archs"`
	} `json:"manifest"`
	SigningKeyID string `json:"signing_key_id"`
	Size         int64  `json:"size"`
	SHA256       string `json:"sha256"`
}

// apiProgress is one device's progress in a rollout.
type apiProgress struct {
	Stage      int    `json:"stage"`
	State      string `json:"state"`
	Error      string `json:"error,omitempty"`
	BytesDone  int64  `json:"bytes_done,omitempty"`
	BytesTotal int64  `json:"bytes_total,omitempty"`
}

// apiRollout is the part of the cloud's rollout this tool prints.
type apiRollout struct {
	ID      string                  `json:"id"`
	Stages  []float64               `json:"stages"`
	Stage   int                     `json:"stage"`
	State   string                  `json:"state"`
	Reason  string                  `json:"reason"`
	Counts  map[string]int          `json:"counts"`
	Devices map[string]*apiProgress `json:"devices"`
}

// apiError is the cloud's error envelope.
type apiError struct {
	Detail struct {
		Code      string `json:"code"`
		Message   string `json:"message"`
		RequestID string `json:"request_id"`
	} `json:"detail"`
}

func pushCmd(g *globals) *cobra.Command {
	o := &pushOptions{}
	cmd := &cobra.Command{
		Use:   "push ARTIFACT --url https://CLOUD",
		Short: "Upload an artifact to the cloud's release store, optionally start a staged rollout and follow it",
		Long: "Uploads ARTIFACT to POST /admin/v1/releases (the cloud verifies it completely against its trusted\n" +
			"roots before storing it) and prints the release. With --rollout it starts a staged rollout of it\n" +
			"(POST /admin/v1/rollouts); with --follow it prints the rollout's progress until it is completed,\n" +
			"aborted or stopped (exit status 1 unless completed).\n\n" +
			"The admin token is read from the environment variable named by --admin-token-env, never from a\n" +
			"flag. URLs must be https://, except http:// to 127.0.0.1, ::1 or localhost for a local cloud.\n" +
			"Uploading the same artifact again is not an error: push uses the release already stored.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPush(cmd.Context(), g, cmd, args[0], o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.url, "url", "", "the cloud's base URL, e.g. https://cloud.example.com")
	f.StringVar(&o.tokenEnv, "admin-token-env", "LIVEGATE_ADMIN_TOKEN", "environment variable holding the admin token")
	f.StringVar(&o.ca, "ca", "", "PEM file of the CA to trust instead of the system roots")
	f.BoolVar(&o.rollout, "rollout", false, "start a staged rollout of the release")
	f.Float64SliceVar(&o.stages, "stages", nil, "rollout stages: cumulative percentages of the eligible devices, e.g. 10,50,100 (default 100)")
	f.StringToStringVar(&o.labels, "labels", nil, "rollout only to devices carrying all these labels, e.g. site=lisbon,ring=canary")
	f.IntVar(&o.abortFailures, "abort-failures", 0, "abort when the current stage has this many failed or rolled-back devices (0: off)")
	f.Float64Var(&o.abortPercent, "abort-percent", 0, "abort when failed or rolled-back devices reach this percentage of the current stage (0: off)")
	f.DurationVar(&o.reportTimeout, "report-timeout", 0, "mark a told device failed when silent this long (0: no timeout; a device that never answers is still failed when its update command expires, 72 h)")
	f.DurationVar(&o.autoAdvance, "auto-advance", 0, "advance this long after every device of a stage finished (0: advance by hand)")
	f.BoolVar(&o.follow, "follow", false, "with --rollout: print progress until the rollout is completed, aborted or stopped")
	f.DurationVar(&o.poll, "poll", 2*time.Second, "with --follow: how often to ask for progress")
	cmd.MarkFlagRequired("url")
	return cmd
}

// checkCloudURL allows https URLs, and http to a loopback host (the
// cloud's --dev rule).
func checkCloudURL(raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimRight(raw, "/"))
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("--url %q: want https://HOST[:PORT]", raw)
	}
	switch u.Scheme {
	case "https":
		return u, nil
	case "http":
		switch h := u.Hostname(); h {
		case "127.0.0.1", "::1", "localhost":
			return u, nil
		}
		return nil, fmt.Errorf("--url %q: http:// only to 127.0.0.1, ::1 or localhost; use https://", raw)
	}
	return nil, fmt.Errorf("--url %q: want https://", raw)
}

// pushClient talks to the cloud's admin API.
type pushClient struct {
	base  string
	token string
	hc    *http.Client
}

func (c *pushClient) do(ctx context.Context, method, path string, body io.Reader, size int64, ct string, out any) (int, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", ct)
		req.ContentLength = size
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	res, err := c.hc.Do(req)
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, 16<<20))
	if err != nil {
		return res.StatusCode, fmt.Errorf("%s %s: reading the answer: %w", method, path, err)
	}
	if res.StatusCode/100 != 2 {
		var e apiError
		if json.Unmarshal(data, &e) == nil && e.Detail.Code != "" {
			return res.StatusCode, fmt.Errorf("%s %s: %d %s: %s (request %s)", method, path, res.StatusCode, e.Detail.Code, e.Detail.Message, e.Detail.RequestID)
		}
		return res.StatusCode, fmt.Errorf("%s %s: %s", method, path, res.Status)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return res.StatusCode, fmt.Errorf("%s %s: decoding the answer: %w", method, path, err)
		}
	}
	return res.StatusCode, nil
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// progress reports upload progress: a bar on a terminal, a plain line
// every 25 % otherwise, nothing with --quiet.
type progress struct {
	w     io.Writer
	total int64
	done  int64
	next  int64 // next percentage to print as a line
	bar   io.Writer
	quiet bool
}

func (p *progress) Write(b []byte) (int, error) {
	p.done += int64(len(b))
	switch {
	case p.quiet:
	case p.bar != nil:
		p.bar.Write(b)
	case p.total > 0:
		for pct := p.done * 100 / p.total; pct >= p.next && p.next <= 100; p.next += 25 {
			fmt.Fprintf(p.w, "uploading: %d%% (%d of %d bytes)\n", p.next, min(p.done, p.total), p.total)
		}
	}
	return len(b), nil
}

func runPush(ctx context.Context, g *globals, cmd *cobra.Command, path string, o *pushOptions) error {
	if ctx == nil {
		ctx = context.Background()
	}
	u, err := checkCloudURL(o.url)
	if err != nil {
		return err
	}
	if o.follow && !o.rollout {
		return errors.New("--follow needs --rollout")
	}
	if o.poll <= 0 {
		return errors.New("--poll must be positive")
	}
	token := os.Getenv(o.tokenEnv)
	if token == "" {
		return fmt.Errorf("no admin token: set the environment variable %s (see --admin-token-env)", o.tokenEnv)
	}
	hc := &http.Client{}
	if o.ca != "" {
		pemData, err := os.ReadFile(o.ca)
		if err != nil {
			return err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pemData) {
			return fmt.Errorf("%s: no certificate", o.ca)
		}
		hc.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
			Proxy: http.ProxyFromEnvironment, DialContext: (&net.Dialer{Timeout: 30 * time.Second}).DialContext}
	}
	c := &pushClient{base: u.String(), token: token, hc: hc}
	stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()

	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	h := sha256.New()
	p := &progress{w: stderr, total: st.Size(), quiet: g.quiet, next: 25}
	if !g.quiet && isTerminal(stderr) {
		p.bar = g.bar(cmd, st.Size(), "uploading")
	}
	var rel apiRelease
	status, err := c.do(ctx, "POST", "/admin/v1/releases", io.TeeReader(f, io.MultiWriter(h, p)), st.Size(), "application/octet-stream", &rel)
	if pb, ok := p.bar.(interface{ Finish() error }); ok {
		pb.Finish()
	}
	switch {
	case status == http.StatusConflict && p.done == st.Size():
		// The same artifact was uploaded before: its id is derived from its SHA-256.
		id := "rel_" + hex.EncodeToString(h.Sum(nil))[:16]
		if _, gerr := c.do(ctx, "GET", "/admin/v1/releases/"+id, nil, 0, "", &rel); gerr != nil {
			return errors.Join(err, gerr)
		}
		fmt.Fprintf(stderr, "already uploaded: using release %s\n", rel.ID)
	case err != nil:
		return err
	}
	fmt.Fprintf(stdout, "release %s: %s %s for boards %s, archs %s; %d bytes, sha256 %s, signing key %s\n",
		rel.ID, rel.Manifest.Kind, rel.Manifest.Version, strings.Join(rel.Manifest.Boards, ","), strings.Join(rel.Manifest.Archs, ","),
		rel.Size, rel.SHA256, rel.SigningKeyID)
	if !o.rollout {
		return nil
	}

	req := map[string]any{"release_id": rel.ID}
	if len(o.stages) > 0 {
		req["stages"] = o.stages
	}
	if len(o.labels) > 0 {
		req["labels"] = o.labels
	}
	if o.abortFailures != 0 {
		req["abort_failures"] = o.abortFailures
	}
	if o.abortPercent != 0 {
		req["abort_percent"] = o.abortPercent
	}
	if o.reportTimeout > 0 {
		req["report_timeout_seconds"] = int64((o.reportTimeout + time.Second - 1) / time.Second)
	}
	if o.autoAdvance > 0 {
		req["auto_advance_seconds"] = int64((o.autoAdvance + time.Second - 1) / time.Second)
	}
	body, _ := json.Marshal(req)
	var ro apiRollout
	if _, err := c.do(ctx, "POST", "/admin/v1/rollouts", bytes.NewReader(body), int64(len(body)), "application/json", &ro); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "rollout %s: %d devices, stages %s\n", ro.ID, len(ro.Devices), stagesText(ro.Stages))
	last := progressLine(&ro)
	fmt.Fprintln(stdout, last)
	if !o.follow {
		return nil
	}
	for ro.State == "running" {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(o.poll):
		}
		var cur apiRollout
		if _, err := c.do(ctx, "GET", "/admin/v1/rollouts/"+ro.ID, nil, 0, "", &cur); err != nil {
			return err
		}
		ro = cur
		if line := progressLine(&ro); line != last {
			fmt.Fprintln(stdout, line)
			last = line
		}
	}
	for _, id := range sortedKeys(ro.Devices) {
		if d := ro.Devices[id]; d.Error != "" {
			fmt.Fprintf(stdout, "  %s: %s: %s\n", id, d.State, d.Error)
		}
	}
	if ro.State != "completed" {
		return fmt.Errorf("rollout %s %s: %s", ro.ID, ro.State, ro.Reason)
	}
	fmt.Fprintf(stdout, "rollout %s completed\n", ro.ID)
	return nil
}

func stagesText(stages []float64) string {
	var parts []string
	for _, s := range stages {
		parts = append(parts, fmt.Sprintf("%g%%", s))
	}
	return strings.Join(parts, " → ")
}

// progressLine summarises a rollout: its state, stage and devices per
// state, with the downloading devices' bytes so far as a percentage of
// their artifacts (devices that report download figures).
func progressLine(ro *apiRollout) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s", ro.State)
	if len(ro.Stages) > 0 && ro.Stage < len(ro.Stages) {
		fmt.Fprintf(&b, ", stage %d of %d (%g%%)", ro.Stage+1, len(ro.Stages), ro.Stages[ro.Stage])
	}
	var parts []string
	for _, s := range []string{"pending", "notified", "downloading", "installing", "succeeded", "failed", "rolled_back"} {
		if n := ro.Counts[s]; n > 0 {
			part := fmt.Sprintf("%s %d", s, n)
			if s == "downloading" {
				part += downloadedText(ro)
			}
			parts = append(parts, part)
		}
	}
	if len(parts) > 0 {
		b.WriteString(": " + strings.Join(parts, ", "))
	}
	if ro.Reason != "" {
		b.WriteString(" — " + ro.Reason)
	}
	return b.String()
}

// downloadedText is " (N%)": the bytes the downloading devices reported
// over their artifacts' sizes; "" when none reported figures.
func downloadedText(ro *apiRollout) string {
	var done, total int64
	for _, d := range ro.Devices {
		if d.State == "downloading" && d.BytesTotal > 0 {
			done, total = done+d.BytesDone, total+d.BytesTotal
		}
	}
	if total == 0 {
		return ""
	}
	return fmt.Sprintf(" (%d%%)", done*100/total)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
