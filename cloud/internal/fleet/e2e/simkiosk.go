package e2e

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"livegate.dev/firmware/outbox"
	fsync "livegate.dev/firmware/sync"
	"livegate.dev/firmware/update"
	"livegate.dev/ota/artifact"
	"livegate.dev/ota/download"
	"livegate.dev/ota/install"
	"livegate.dev/ota/sign"
	"livegate.dev/proto"
)

// SimKioskConfig configures a SimKiosk.
type SimKioskConfig struct {
	// Credentials from the enrollment, and the broker to connect to. Required.
	Credentials *fsync.Credentials
	BrokerURL   string
	// Dir holds the slots, the outbox and the update agent's files. Required.
	Dir string
	// Roots are the trusted OTA root keys. Required.
	Roots []ed25519.PublicKey
	// Factory is the signed artifact provisioned into slot A (the factory
	// image). Required.
	Factory []byte
	// HTTP downloads artifacts (trusting the cloud's certificate). Required.
	HTTP *http.Client
	// Bad are the versions whose health check fails. Optional.
	Bad map[string]bool
	// Logger. Optional. Default: discard.
	Logger *slog.Logger
}

// SimKiosk is a sim-board kiosk as far as updates go: A/B slots in a
// directory (ota/install), the sync client (firmware/sync) and the kiosk's
// update agent (firmware/update), which downloads the artifact named in an
// update command over HTTPS, installs it to the inactive slot and
// restarts. A restart is a power cycle: the agent and the sync client
// stop, the slots boot (install.Device.Start: the health check commits the
// new version or rolls back), and a new agent and client start over the
// same directories; the agent then reports the pending update's final
// result over the new connection. It reports the board "sim" in its
// telemetry and the running slot's version in its birth message.
type SimKiosk struct {
	cfg     SimKioskConfig
	dev     *install.Device
	fetch   *download.Fetcher
	restart chan struct{}

	mu       sync.Mutex
	told     map[string]map[string]bool // update command ids received, per rollout
	assigned map[string]map[string]int  // assign_session command ids handled, per session: how many times each
	boots    int
}

// NewSimKiosk provisions the factory image.
func NewSimKiosk(cfg SimKioskConfig) (*SimKiosk, error) {
	if cfg.Credentials == nil || cfg.BrokerURL == "" || cfg.Dir == "" || len(cfg.Roots) == 0 || cfg.Factory == nil || cfg.HTTP == nil {
		return nil, errors.New("e2e: sim kiosk needs Credentials, BrokerURL, Dir, Roots, Factory and HTTP")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	layout, err := install.NewSim(filepath.Join(cfg.Dir, "slots"))
	if err != nil {
		return nil, err
	}
	trust, err := sign.NewTrust(cfg.Roots, time.Now)
	if err != nil {
		return nil, err
	}
	k := &SimKiosk{cfg: cfg, told: map[string]map[string]bool{}, assigned: map[string]map[string]int{}, restart: make(chan struct{}, 1),
		fetch: &download.Fetcher{Client: cfg.HTTP, MaxAttempts: 3, Backoff: func(int) time.Duration { return 50 * time.Millisecond }, Logger: cfg.Logger}}
	k.dev, err = install.New(install.Config{Layout: layout, Trust: trust, Kind: artifact.KindFirmware, Board: "sim", Arch: "amd64",
		Health: k.health, Watchdog: 30 * time.Second, Logger: cfg.Logger})
	if err != nil {
		return nil, err
	}
	if _, err := k.dev.Provision(context.Background(), bytes.NewReader(cfg.Factory)); err != nil {
		return nil, err
	}
	return k, nil
}

func (k *SimKiosk) health(_ context.Context, r install.Running) error {
	if k.cfg.Bad[r.Version] {
		return fmt.Errorf("self-test inference failed on %s", r.Version)
	}
	return nil
}

// Running is the version of the active slot.
func (k *SimKiosk) Running() string {
	env, err := k.dev.Env()
	if err != nil {
		return ""
	}
	return env.Slots[env.Active].Version
}

// Settled reports whether the kiosk has no update in progress or left to
// report: its agent removes its pending file only once the final answer
// was delivered, and refuses another update until then.
func (k *SimKiosk) Settled() bool {
	_, err := os.Stat(filepath.Join(k.cfg.Dir, "ota", "pending.json"))
	return errors.Is(err, os.ErrNotExist)
}

// Told is how many distinct update commands of a rollout the kiosk got.
func (k *SimKiosk) Told(rollout string) int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.told[rollout])
}

// Assigned says how an assigned session (flow 3) reached the kiosk: how
// many distinct assign_session command ids for it were handled, and how
// many times the kiosk ran it (each handled command, a repeat included).
func (k *SimKiosk) Assigned(sessionID string) (commands, runs int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, n := range k.assigned[sessionID] {
		commands++
		runs += n
	}
	return commands, runs
}

// Restarts is how many times the kiosk restarted (power cycles after the first start).
func (k *SimKiosk) Restarts() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return max(k.boots-1, 0)
}

// router counts update commands and hands them to the agent; it runs an
// assign_session at once: a passing result under the cloud's session id,
// committed to the outbox (the sync client sends it).
type router struct {
	k  *SimKiosk
	a  *update.Agent
	ob *outbox.Outbox
}

func (r *router) HandleCommand(ctx context.Context, id string, cmd *proto.Command) proto.CommandResponse {
	if cmd.Kind == proto.CommandAssignSession {
		return r.assign(id, cmd)
	}
	var a proto.UpdateArgs
	if cmd.Kind == proto.CommandUpdate && json.Unmarshal(cmd.Args, &a) == nil {
		r.k.mu.Lock()
		if r.k.told[a.Rollout] == nil {
			r.k.told[a.Rollout] = map[string]bool{}
		}
		r.k.told[a.Rollout][id] = true
		r.k.mu.Unlock()
	}
	return r.a.HandleCommand(ctx, id, cmd)
}

func (r *router) assign(id string, cmd *proto.Command) proto.CommandResponse {
	var a proto.AssignSessionArgs
	if err := json.Unmarshal(cmd.Args, &a); err != nil || a.SessionID == "" {
		return proto.CommandResponse{Status: "refused", Error: "assign_session needs args.session_id"}
	}
	r.k.mu.Lock()
	if r.k.assigned[a.SessionID] == nil {
		r.k.assigned[a.SessionID] = map[string]int{}
	}
	r.k.assigned[a.SessionID][id]++
	r.k.mu.Unlock()
	now := time.Now().UTC()
	res := &proto.SessionResult{SessionID: a.SessionID, Assigned: true, Mode: a.Mode, Verdict: "pass", Confidence: 0.97,
		Layers: []proto.Layer{{Name: "motion", Passed: true, Score: 0.95}}, Reasons: []string{},
		StartedAt: now.Add(-2 * time.Second), DecidedAt: now, FirmwareVersion: r.k.Running()}
	mid, data, err := fsync.EncodeResult(res, now)
	if err == nil {
		_, err = r.ob.Append(mid, now, data)
	}
	if err != nil {
		return proto.CommandResponse{Status: "failed", Error: err.Error()}
	}
	return proto.CommandResponse{Status: "accepted"}
}

// Run powers the kiosk on, and on again after each restart the agent
// asks for, until ctx ends; then it powers off and returns nil.
func (k *SimKiosk) Run(ctx context.Context) error {
	for {
		off, err := k.powerOn(ctx)
		if err != nil {
			return fmt.Errorf("e2e: %s: power on: %w", k.cfg.Credentials.DeviceID, err)
		}
		select {
		case <-ctx.Done():
			off()
			return nil
		case <-k.restart:
			off()
		}
	}
}

func (k *SimKiosk) powerOn(ctx context.Context) (off func(), err error) {
	if _, err := k.dev.Start(ctx); err != nil {
		return nil, err
	}
	k.mu.Lock()
	k.boots++
	k.mu.Unlock()
	ob, err := outbox.Open(filepath.Join(k.cfg.Dir, "outbox.db"), outbox.Options{})
	if err != nil {
		return nil, err
	}
	cr := k.cfg.Credentials
	tc, err := cr.TLSConfig()
	if err != nil {
		ob.Close()
		return nil, err
	}
	r := &router{k: k, ob: ob}
	c, err := fsync.New(fsync.Config{DeviceID: cr.DeviceID, BrokerURL: k.cfg.BrokerURL, TLS: tc, Username: cr.Username, Password: cr.Password,
		Outbox: ob, Handler: r, Logger: k.cfg.Logger, KeepAlive: time.Second, MaxReconnectInterval: 500 * time.Millisecond,
		TelemetryInterval: 200 * time.Millisecond, Telemetry: func() proto.Telemetry { return proto.Telemetry{Board: "sim"} },
		Versions: func() (string, string) { return k.Running(), "" }})
	if err != nil {
		ob.Close()
		return nil, err
	}
	r.a, err = update.New(update.Config{
		Installers: map[artifact.Kind]*install.Device{artifact.KindFirmware: k.dev},
		Fetcher:    k.fetch, Dir: filepath.Join(k.cfg.Dir, "ota"), Responder: c, Logger: k.cfg.Logger,
		Restart: func(context.Context) error {
			select {
			case k.restart <- struct{}{}:
			default:
			}
			return nil
		},
	})
	if err != nil {
		ob.Close()
		return nil, err
	}
	cctx, cancel := context.WithCancel(ctx)
	stopped := make(chan struct{})
	go func() { c.Run(cctx); close(stopped) }()
	// The update that was pending when the kiosk went down, if any, is
	// reported once the client is connected.
	reported := make(chan struct{})
	go func() {
		defer close(reported)
		if _, err := r.a.ReportPending(cctx); err != nil && cctx.Err() == nil {
			k.cfg.Logger.Error("report pending", slog.String("device_id", cr.DeviceID), slog.Any("err", err))
		}
	}()
	return func() {
		r.a.Close()
		cancel()
		<-reported
		<-stopped
		ob.Close()
	}, nil
}
