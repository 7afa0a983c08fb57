package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"livegate.dev/cloud/internal/webhook"
	"livegate.dev/proto"
)

// Config configures a Run.
type Config struct {
	// CloudBin and KioskBin are the livegate-cloud and livegate-kiosk binaries. Required.
	CloudBin, KioskBin string
	// Camera is the recording the sim kiosk's camera plays; empty: the
	// sim's synthetic face (whose verdict varies, so fewer relay pulses).
	Camera string
	// Walkups is the number of walk-ups. Required (> 0).
	Walkups int
	// KioskEnv adds LIVEGATE_KIOSK_* overrides to the kiosk daemon's
	// environment. Optional.
	KioskEnv []string
	// Keep keeps the temporary directory. Optional.
	Keep bool
	// Out gets the report, Progress one line per step and walk-up. Required.
	Out, Progress io.Writer
}

// Series is one measured latency series.
type Series struct {
	Name    string
	Samples []time.Duration
}

// Report is what a Run measured.
type Report struct {
	// Relay: relay energised → webhook received, one sample per walk-up
	// that passed. Durable: result durable on the kiosk → webhook received,
	// every decided walk-up. MQTT and Simulate: the baselines.
	Relay, Durable, MQTT, Simulate Series
	// Verdicts counts the walk-ups' verdicts ("no_face" for none).
	Verdicts map[string]int
	// Webhooks is how many session.completed webhooks the receiver
	// accepted with a valid signature; Rejected how many it refused.
	Webhooks, Rejected int
}

// waitWebhook bounds the wait for one webhook: far above any latency
// worth measuring, short enough that a lost result fails the run.
const waitWebhook = 30 * time.Second

// Run measures cfg.Walkups walk-ups and the baselines, and prints the report.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if cfg.Walkups <= 0 {
		return nil, errors.New("walkups must be positive")
	}
	for _, b := range []string{cfg.CloudBin, cfg.KioskBin} {
		if _, err := os.Stat(b); err != nil {
			return nil, fmt.Errorf("%w (make build)", err)
		}
	}
	if cfg.Camera != "" {
		if _, err := os.Stat(cfg.Camera); err != nil {
			return nil, fmt.Errorf("camera recording: %w (make setup)", err)
		}
	}
	dir, err := os.MkdirTemp("", "livegate-relaybench-")
	if err != nil {
		return nil, err
	}
	if cfg.Keep {
		fmt.Fprintf(cfg.Progress, "relaybench: keeping %s\n", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	h := &harness{cfg: cfg, dir: dir, admin: randHex(32)}
	defer h.stop()
	rep, err := h.run(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w (logs in %s)", err, h.logHint())
	}
	return rep, nil
}

type harness struct {
	cfg   Config
	dir   string
	admin string

	recv   *receiver
	cloud  *proc
	kiosk  *proc
	base   string // the cloud's API
	apiKey string
	kcfg   string // the kiosk's config file
}

func (h *harness) logf(format string, args ...any) {
	fmt.Fprintf(h.cfg.Progress, format+"\n", args...)
}

func (h *harness) logHint() string {
	if h.cfg.Keep {
		return h.dir
	}
	return "rerun with -keep"
}

func (h *harness) run(ctx context.Context) (*Report, error) {
	load0 := loadAvg()
	var err error
	if h.recv, err = newReceiver(); err != nil {
		return nil, err
	}

	// The cloud: embedded broker, bbolt in the temporary directory, free ports.
	h.cloud, err = startProc(filepath.Join(h.dir, "cloud.log"), []string{"LIVEGATE_ADMIN_TOKEN=" + h.admin}, h.cfg.CloudBin,
		"serve", "--addr", "127.0.0.1:0", "--data", filepath.Join(h.dir, "cloud"), "--dev", "--mqtt-addr", "127.0.0.1:0",
		"--log-level", "info")
	if err != nil {
		return nil, err
	}
	line, err := h.cloud.waitLine(ctx, 60*time.Second, func(l string) bool { return strings.Contains(l, `"livegate-cloud serving"`) })
	if err != nil {
		return nil, fmt.Errorf("livegate-cloud: %w", err)
	}
	var serving struct{ Addr string }
	if err := json.Unmarshal([]byte(line), &serving); err != nil || serving.Addr == "" {
		return nil, fmt.Errorf("livegate-cloud: no address in %q", line)
	}
	h.base = "http://" + serving.Addr
	h.logf("cloud: %s (embedded MQTT broker, bbolt in %s)", h.base, filepath.Join(h.dir, "cloud"))

	// A test-mode tenant; the receiver checks signatures with its secret.
	var tenant struct {
		TenantID      string `json:"tenant_id"`
		APIKey        string `json:"api_key"`
		WebhookSecret string `json:"webhook_secret"`
	}
	if err := h.call(ctx, "POST", "/admin/v1/tenants", h.admin, map[string]string{"name": "relaybench", "mode": "test"}, 201, &tenant); err != nil {
		return nil, err
	}
	h.apiKey = tenant.APIKey
	h.recv.setSecret(tenant.WebhookSecret)
	hookURL := h.recv.url + "/hooks/livegate"
	enroll := func(dev string) (string, error) {
		var e struct {
			Token string `json:"token"`
		}
		err := h.call(ctx, "POST", "/admin/v1/devices/enrollments", h.admin,
			map[string]string{"tenant_id": tenant.TenantID, "device_id": dev, "webhook_url": hookURL}, 201, &e)
		return e.Token, err
	}

	// The kiosk, enrolled and run as docs/kiosk.md says.
	kioskToken, err := enroll("bench-kiosk")
	if err != nil {
		return nil, err
	}
	if err := h.startKiosk(ctx, kioskToken); err != nil {
		return nil, err
	}

	// The baseline device: a bare MQTT client with its own credentials.
	mqttToken, err := enroll("bench-mqtt")
	if err != nil {
		return nil, err
	}
	dev, err := h.connectDevice(ctx, mqttToken)
	if err != nil {
		return nil, err
	}
	defer dev.close()

	rep := &Report{
		Relay:    Series{Name: "relay energised → webhook received (kiosk, pass)"},
		Durable:  Series{Name: "result durable on the kiosk → webhook received"},
		MQTT:     Series{Name: "baseline: MQTT QoS 1 publish, no kiosk → webhook"},
		Simulate: Series{Name: "baseline: API simulate call, no MQTT → webhook"},
		Verdicts: map[string]int{},
	}
	for i := 1; i <= h.cfg.Walkups; i++ {
		w, err := h.walkup(ctx)
		if err != nil {
			return nil, fmt.Errorf("walk-up %d: %w", i, err)
		}
		if w.Outcome != "decided" || w.Session == nil {
			rep.Verdicts["no_face"]++
			h.logf("walk-up %2d/%d: no face", i, h.cfg.Walkups)
		} else {
			s := w.Session
			rep.Verdicts[s.Verdict]++
			if s.CommittedAt.IsZero() {
				return nil, errors.New("walkup --json has no session.committed_at: the livegate-kiosk binary is older than this benchmark (make build)")
			}
			a, err := h.recv.wait(ctx, s.SessionID, waitWebhook)
			if err != nil {
				return nil, fmt.Errorf("walk-up %d (session %s, %s): %w", i, s.SessionID, s.Verdict, err)
			}
			durable := a.at.Sub(s.CommittedAt)
			rep.Durable.Samples = append(rep.Durable.Samples, durable)
			relay := "relay not energised"
			if s.PulsedAt != nil {
				d := a.at.Sub(*s.PulsedAt)
				rep.Relay.Samples = append(rep.Relay.Samples, d)
				relay = "relay → webhook " + ms(d)
			}
			h.logf("walk-up %2d/%d: %s %s (%.2f): durable → webhook %s, %s", i, h.cfg.Walkups, s.SessionID, s.Verdict, s.Confidence, ms(durable), relay)
		}
		// The baselines, while the kiosk cools down.
		d, err := h.mqttBaseline(ctx, dev)
		if err != nil {
			return nil, fmt.Errorf("MQTT baseline %d: %w", i, err)
		}
		rep.MQTT.Samples = append(rep.MQTT.Samples, d)
		d2, err := h.simulateBaseline(ctx, hookURL)
		if err != nil {
			return nil, fmt.Errorf("simulate baseline %d: %w", i, err)
		}
		rep.Simulate.Samples = append(rep.Simulate.Samples, d2)
		h.logf("             baselines: MQTT publish → webhook %s, simulate → webhook %s", ms(d), ms(d2))
	}
	rep.Webhooks, rep.Rejected = h.recv.counts()
	h.print(rep, load0, loadAvg())
	return rep, nil
}

func (h *harness) startKiosk(ctx context.Context, token string) error {
	kdir := filepath.Join(h.dir, "kiosk")
	h.kcfg = filepath.Join(kdir, "kiosk.yaml")
	tech, err := freePort()
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, h.cfg.KioskBin, "enroll", "--cloud", h.base, "--board", "sim", "--config", h.kcfg,
		"--data", filepath.Join(kdir, "var"), "--technician-listen", tech)
	cmd.Env = append(os.Environ(), "LIVEGATE_ENROLL_TOKEN="+token)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("livegate-kiosk enroll: %v\n%s", err, out)
	}
	env := []string{}
	if h.cfg.Camera != "" {
		// As make demo plays a recording: the file at its own rate, looped.
		env = append(env, "LIVEGATE_KIOSK_BOARD_CAMERA_SOURCE=file", "LIVEGATE_KIOSK_BOARD_CAMERA_DEVICE="+h.cfg.Camera,
			"LIVEGATE_KIOSK_BOARD_CAMERA_FPS=0", "LIVEGATE_KIOSK_BOARD_CAMERA_LOOP=true")
	}
	env = append(env, h.cfg.KioskEnv...)
	h.kiosk, err = startProc(filepath.Join(kdir, "daemon.log"), env, h.cfg.KioskBin, "run", "--config", h.kcfg)
	if err != nil {
		return err
	}
	for _, msg := range []string{`msg="mqtt connected"`, `msg="kiosk running"`} {
		if _, err := h.kiosk.waitLine(ctx, 120*time.Second, func(l string) bool { return strings.Contains(l, msg) }); err != nil {
			return fmt.Errorf("livegate-kiosk run: waiting for %s: %w", msg, err)
		}
	}
	cam := h.cfg.Camera
	if cam == "" {
		cam = "the synthetic face"
	}
	h.logf("kiosk: bench-kiosk enrolled and running on the sim board, camera %s, technician view %s", cam, tech)
	return nil
}

// walkResult is what livegate-kiosk walkup --json prints (tech.WalkUpResult).
type walkResult struct {
	Outcome string `json:"outcome"`
	Session *struct {
		SessionID   string     `json:"session_id"`
		Verdict     string     `json:"verdict"`
		Confidence  float64    `json:"confidence"`
		DecidedAt   time.Time  `json:"decided_at"`
		CommittedAt time.Time  `json:"committed_at"`
		Pulsed      bool       `json:"pulsed"`
		PulsedAt    *time.Time `json:"pulsed_at"`
	} `json:"session"`
}

func (h *harness) walkup(ctx context.Context) (*walkResult, error) {
	cmd := exec.CommandContext(ctx, h.cfg.KioskBin, "walkup", "--config", h.kcfg, "--json")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("livegate-kiosk walkup: %v\n%s", err, stderr.Bytes())
	}
	var w walkResult
	if err := json.Unmarshal(out, &w); err != nil {
		return nil, fmt.Errorf("livegate-kiosk walkup --json: %v\n%s", err, out)
	}
	return &w, nil
}

// device is the baseline's bare MQTT client.
type device struct {
	id     string
	client paho.Client
}

func (d *device) close() { d.client.Disconnect(250) }

func (h *harness) connectDevice(ctx context.Context, token string) (*device, error) {
	var cr proto.EnrollResponse
	if err := h.call(ctx, "POST", "/api/v1/devices/enroll", "", proto.EnrollRequest{Token: token}, 200, &cr); err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(cr.CACert)) {
		return nil, errors.New("enrollment: no device CA in the answer")
	}
	o := paho.NewClientOptions().AddBroker(cr.BrokerURL).SetClientID(cr.DeviceID).SetCleanSession(true).
		SetUsername(cr.Username).SetPassword(cr.Password).SetAutoReconnect(false).
		SetTLSConfig(&tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool}).SetConnectTimeout(10 * time.Second)
	c := paho.NewClient(o)
	t := c.Connect()
	if !t.WaitTimeout(15*time.Second) || t.Error() != nil {
		return nil, fmt.Errorf("baseline device: connect to %s: %v", cr.BrokerURL, t.Error())
	}
	h.logf("baseline device: %s connected to %s with its password", cr.DeviceID, cr.BrokerURL)
	return &device{id: cr.DeviceID, client: c}, nil
}

// mqttBaseline publishes one result as the baseline device and times it to
// its webhook.
func (h *harness) mqttBaseline(ctx context.Context, d *device) (time.Duration, error) {
	now := time.Now().UTC()
	r := &proto.SessionResult{SessionID: d.id + "-" + randHex(12), Mode: "passive", Verdict: "pass", Confidence: 0.99,
		Reasons: []string{}, Layers: []proto.Layer{{Name: "light_response", Score: 0.99, Passed: true}},
		StartedAt: now.Add(-3 * time.Second), DecidedAt: now, FirmwareVersion: "relaybench", ModelsVersion: "relaybench"}
	id := "res_" + r.SessionID
	payload, err := proto.Encode(id, proto.TypeSessionResult, now, r)
	if err != nil {
		return 0, err
	}
	t0 := time.Now()
	t := d.client.Publish(proto.Topic(d.id, proto.TopicSessions), 1, false, payload)
	if !t.WaitTimeout(10*time.Second) || t.Error() != nil {
		return 0, fmt.Errorf("publish: %v", t.Error())
	}
	a, err := h.recv.wait(ctx, r.SessionID, waitWebhook)
	if err != nil {
		return 0, err
	}
	return a.at.Sub(t0), nil
}

// simulateBaseline completes a test-mode session through the API and times
// the call to its webhook.
func (h *harness) simulateBaseline(ctx context.Context, hookURL string) (time.Duration, error) {
	var s struct {
		SessionID string `json:"session_id"`
	}
	if err := h.call(ctx, "POST", "/api/v1/managed-session", h.apiKey,
		map[string]string{"user_id": "relaybench", "mode": "passive", "webhook_url": hookURL}, 201, &s); err != nil {
		return 0, err
	}
	t0 := time.Now()
	if err := h.call(ctx, "POST", "/api/v1/session/"+s.SessionID+"/simulate", h.apiKey, map[string]string{"verdict": "pass"}, 200, nil); err != nil {
		return 0, err
	}
	a, err := h.recv.wait(ctx, s.SessionID, waitWebhook)
	if err != nil {
		return 0, err
	}
	return a.at.Sub(t0), nil
}

func (h *harness) call(ctx context.Context, method, path, bearer string, body any, want int, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, method, h.base+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		return fmt.Errorf("%s %s = %d %s, want %d", method, path, res.StatusCode, data, want)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	return nil
}

// stop ends the kiosk (it switches its relay off), then the cloud.
func (h *harness) stop() {
	if h.kiosk != nil {
		h.kiosk.stop()
	}
	if h.cloud != nil {
		h.cloud.stop()
	}
	if h.recv != nil {
		h.recv.close()
	}
}

func (h *harness) print(rep *Report, load0, load1 string) {
	w := h.cfg.Out
	cam := "the synthetic face"
	if h.cfg.Camera != "" {
		cam = filepath.Base(h.cfg.Camera)
	}
	walkups := fmt.Sprintf("%d walk-ups", h.cfg.Walkups)
	if h.cfg.Walkups == 1 {
		walkups = "1 walk-up"
	}
	fmt.Fprintf(w, "relay → webhook: %s at a sim kiosk (camera %s), livegate-cloud --dev with its embedded broker and bbolt, all on loopback; %d CPUs, load average %s → %s\n",
		walkups, cam, runtime.NumCPU(), load0, load1)
	fmt.Fprintf(w, "verdicts: %s; webhooks received with a valid signature: %d, refused: %d\n", verdicts(rep.Verdicts), rep.Webhooks, rep.Rejected)
	fmt.Fprintf(w, "%-52s %4s %9s %9s %9s\n", "series (end: the receiver's handler called)", "n", "p50", "p95", "max")
	for _, s := range []Series{rep.Relay, rep.Durable, rep.MQTT, rep.Simulate} {
		if len(s.Samples) == 0 {
			fmt.Fprintf(w, "%-52s %4d %9s %9s %9s\n", s.Name, 0, "-", "-", "-")
			continue
		}
		fmt.Fprintf(w, "%-52s %4d %9s %9s %9s\n", s.Name, len(s.Samples), ms(s.pct(50)), ms(s.pct(95)), ms(s.pct(100)))
	}
	ratio := func(a, b Series, p float64) string {
		if len(a.Samples) == 0 || len(b.Samples) == 0 || b.pct(p) <= 0 {
			return "-"
		}
		return fmt.Sprintf("%.2f", float64(a.pct(p))/float64(b.pct(p)))
	}
	fmt.Fprintf(w, "ratio to the MQTT baseline: relay → webhook p50 %s, p95 %s; durable → webhook p50 %s, p95 %s\n",
		ratio(rep.Relay, rep.MQTT, 50), ratio(rep.Relay, rep.MQTT, 95), ratio(rep.Durable, rep.MQTT, 50), ratio(rep.Durable, rep.MQTT, 95))
	if len(rep.Relay.Samples) > 0 {
		verdict := "met"
		if rep.Relay.pct(95) > time.Second {
			verdict = "NOT met"
		}
		fmt.Fprintf(w, "target p95 relay → webhook ≤ 1 s on a connected device: %s (%s)\n", verdict, ms(rep.Relay.pct(95)))
	}
}

// pct is the p-th percentile by nearest rank (100: the maximum).
func (s Series) pct(p float64) time.Duration {
	v := append([]time.Duration(nil), s.Samples...)
	sort.Slice(v, func(i, j int) bool { return v[i] < v[j] })
	k := int(float64(len(v))*p/100+0.999999) - 1
	return v[max(0, min(k, len(v)-1))]
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
}

func verdicts(m map[string]int) string {
	var parts []string
	for _, k := range []string{"pass", "fail", "retry", "no_face"} {
		if m[k] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", m[k], k))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// freePort returns a loopback address whose port was free a moment ago
// (the kiosk's technician view must be named in its config).
func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// proc is a process this benchmark started, its stderr kept in a log file
// and offered line by line to waitLine.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{}

	mu    sync.Mutex
	lines []string
	more  chan struct{} // closed at each new line
}

func startProc(logPath string, env []string, bin string, args ...string) (*proc, error) {
	if err := os.MkdirAll(filepath.Dir(logPath), 0o700); err != nil {
		return nil, err
	}
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout = logf
	stderr, err := cmd.StderrPipe()
	if err != nil {
		logf.Close()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	p := &proc{cmd: cmd, done: make(chan struct{}), more: make(chan struct{})}
	go func() {
		defer close(p.done)
		defer logf.Close()
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			l := sc.Text()
			fmt.Fprintln(logf, l)
			p.mu.Lock()
			p.lines = append(p.lines, l)
			close(p.more)
			p.more = make(chan struct{})
			p.mu.Unlock()
		}
		cmd.Wait()
	}()
	return p, nil
}

// waitLine returns the first line of the process's stderr for which match
// holds, waiting up to d for it.
func (p *proc) waitLine(ctx context.Context, d time.Duration, match func(string) bool) (string, error) {
	deadline := time.After(d)
	seen := 0
	for {
		p.mu.Lock()
		lines, more := p.lines[seen:], p.more
		seen = len(p.lines)
		p.mu.Unlock()
		for _, l := range lines {
			if match(l) {
				return l, nil
			}
		}
		select {
		case <-more:
		case <-p.done:
			return "", fmt.Errorf("exited: %s", p.tail())
		case <-deadline:
			return "", fmt.Errorf("not within %s: %s", d, p.tail())
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
}

func (p *proc) tail() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.lines[max(0, len(p.lines)-10):], "\n")
}

// stop sends SIGTERM, and SIGKILL if the process has not exited after 20 s.
func (p *proc) stop() {
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
}

// receiver is the integrator's webhook endpoint: it stamps each request on
// arrival, then checks its signature with the tenant's secret.
type receiver struct {
	srv *http.Server
	url string

	mu       sync.Mutex
	secret   []byte
	arrived  map[string]arrival       // session id → first verified arrival
	waiting  map[string]chan struct{} // session id → closed on arrival
	accepted int
	rejected int
}

type arrival struct {
	at      time.Time
	attempt string
}

func newReceiver() (*receiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &receiver{url: "http://" + ln.Addr().String(), arrived: map[string]arrival{}, waiting: map[string]chan struct{}{}}
	r.srv = &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(r.serve)}
	go r.srv.Serve(ln)
	return r, nil
}

func (r *receiver) setSecret(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.secret = []byte(s)
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	at := time.Now() // the webhook's arrival: before the body and the signature check
	body, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	if err != nil || req.Method != http.MethodPost {
		http.Error(w, "POST a webhook", http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := webhook.Verify(req.Header.Get("Livegate-Signature"), body, r.secret, 0, time.Now()); err != nil {
		r.rejected++
		http.Error(w, "bad signature", http.StatusBadRequest)
		return
	}
	var ev struct {
		Type string `json:"type"`
		Data struct {
			SessionID string `json:"session_id"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &ev); err != nil || ev.Type != "session.completed" || ev.Data.SessionID == "" {
		w.WriteHeader(http.StatusNoContent) // not one this benchmark waits for
		return
	}
	r.accepted++
	id := ev.Data.SessionID
	if _, dup := r.arrived[id]; !dup {
		r.arrived[id] = arrival{at: at, attempt: req.Header.Get("Livegate-Attempt")}
		if ch, ok := r.waiting[id]; ok {
			close(ch)
			delete(r.waiting, id)
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// wait returns the arrival of session id's webhook, waiting up to d.
func (r *receiver) wait(ctx context.Context, id string, d time.Duration) (arrival, error) {
	r.mu.Lock()
	a, ok := r.arrived[id]
	ch := r.waiting[id]
	if !ok && ch == nil {
		ch = make(chan struct{})
		r.waiting[id] = ch
	}
	r.mu.Unlock()
	if ok {
		return a, nil
	}
	select {
	case <-ch:
	case <-time.After(d):
		return arrival{}, fmt.Errorf("no signed session.completed webhook for %s within %s", id, d)
	case <-ctx.Done():
		return arrival{}, ctx.Err()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.arrived[id], nil
}

func (r *receiver) counts() (accepted, rejected int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.accepted, r.rejected
}

func (r *receiver) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r.srv.Shutdown(ctx)
}
