package fleet

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"livegate.dev/cloud/internal/clock"
	"livegate.dev/cloud/internal/core"
	"livegate.dev/cloud/internal/fleet/broker"
	"livegate.dev/cloud/internal/fleet/ingest"
	"livegate.dev/cloud/internal/fleet/provision"
	"livegate.dev/cloud/internal/fleet/resend"
	"livegate.dev/cloud/internal/store"
	"livegate.dev/proto"
)

// Config configures a Fleet.
type Config struct {
	// Store persists devices, sessions and deliveries. Required.
	Store store.Store
	// DataDir holds the device CA (device-ca.crt, device-ca.key 0600) and,
	// in external mode, the cloud's service certificate. Required.
	DataDir string
	// Sealer encrypts the CA key at rest. Optional. Default: a 0600 PEM file.
	Sealer provision.Sealer
	// MQTTAddr is the embedded broker's listen address (TLS with the device
	// CA). Optional. Default: ":8883". Ignored when MQTTURL is set.
	MQTTAddr string
	// MQTTURL selects an external broker (e.g. ssl://mqtt.example.com:8883,
	// Mosquitto with the generated config): the cloud connects to it with a
	// service certificate issued from the device CA (written to DataDir),
	// or with ServicePassword when set. Optional. Default: embedded broker.
	MQTTURL string
	// ServicePassword authenticates the cloud on an external broker in
	// password mode. Optional.
	ServicePassword string
	// BrokerHosts are the names and IPs in the embedded broker's
	// certificate. Optional. Default: localhost, 127.0.0.1 and the host name.
	BrokerHosts []string
	// PublicBrokerURL is told to devices at enrollment. Optional. Default:
	// MQTTURL, or ssl://<first BrokerHost>:<port>.
	PublicBrokerURL string
	// Notifier wakes the webhook worker. Optional.
	Notifier ingest.Notifier
	// Listener receives the devices' command responses and telemetry
	// (the OTA rollouts: a Link). Optional.
	Listener Listener
	// Resend is the schedule of repeats of the fleet's own commands
	// (assign_session) that their device has not answered. Optional.
	Resend resend.Backoff
	// TickInterval is how often those commands are checked for a repeat
	// or their expiry. Optional. Default: 30 s.
	TickInterval time.Duration
	// Clock. Optional. Default: clock.Real.
	Clock clock.Clock
	// Logger. Optional. Default: slog.Default().
	Logger *slog.Logger
}

// Fleet is the cloud side of the device fleet: broker (embedded or
// external), ingest and provisioning.
type Fleet struct {
	cfg       Config
	CA        *provision.CA
	Provision *provision.Service
	Ingest    *ingest.Ingest
	Broker    *broker.Broker // nil with an external broker
	// Pending keeps the fleet's commands (assign_session) until their
	// device answers or they expire, and sends them again meanwhile.
	Pending *resend.Pending
}

// New loads or creates the CA, starts listening with the embedded broker
// (unless MQTTURL is set) and prepares the ingest; Run runs them.
func New(cfg Config) (*Fleet, error) {
	if cfg.Store == nil || cfg.DataDir == "" {
		return nil, errors.New("fleet: Store and DataDir are required")
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MQTTAddr == "" {
		cfg.MQTTAddr = ":8883"
	}
	if cfg.TickInterval <= 0 {
		cfg.TickInterval = 30 * time.Second
	}
	if len(cfg.BrokerHosts) == 0 {
		cfg.BrokerHosts = []string{"localhost", "127.0.0.1"}
		if h, err := os.Hostname(); err == nil {
			cfg.BrokerHosts = append(cfg.BrokerHosts, h)
		}
	}
	now := cfg.Clock.Now()
	ca, err := provision.LoadOrCreateCA(cfg.DataDir, cfg.Sealer, now)
	if err != nil {
		return nil, err
	}
	f := &Fleet{cfg: cfg, CA: ca}
	icfg := ingest.Config{Store: cfg.Store, Notifier: cfg.Notifier, Clock: cfg.Clock, Logger: cfg.Logger}
	// Answers and a device's session coming online go to the fleet's own
	// pending commands first, then to the Listener.
	icfg.OnCommandResponse = f.commandResponse
	if l := cfg.Listener; l != nil {
		icfg.OnTelemetry = l.Telemetry
	}
	var onSubscribed func(string)
	if cfg.MQTTURL == "" {
		// The embedded broker says when a device's commands
		// subscription is back (exact: a command sent from then on
		// reaches it).
		onSubscribed = func(dev string) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			f.deviceOnline(ctx, dev)
		}
	} else {
		// An external broker keeps sessions (Mosquitto with
		// persistence): the device's birth message is the signal.
		icfg.OnOnline = f.deviceOnline
	}
	public := cfg.PublicBrokerURL
	if cfg.MQTTURL == "" {
		tc, err := ca.ServerTLS(cfg.BrokerHosts, now)
		if err != nil {
			return nil, fmt.Errorf("fleet: broker certificate: %w", err)
		}
		svc := make([]byte, 32)
		rand.Read(svc)
		pw := hex.EncodeToString(svc)
		prov, err := provision.New(provision.Config{Store: cfg.Store, CA: ca, Clock: cfg.Clock, Logger: cfg.Logger})
		if err != nil {
			return nil, err
		}
		b, err := broker.New(broker.Config{Addr: cfg.MQTTAddr, TLS: tc, Devices: prov, ServicePassword: []byte(pw), Logger: cfg.Logger,
			OnCommandsSubscribed: onSubscribed})
		if err != nil {
			return nil, err
		}
		prov.SetBroker(b)
		f.Broker, f.Provision = b, prov
		_, port, _ := net.SplitHostPort(b.Addr())
		if public == "" {
			public = "ssl://" + net.JoinHostPort(cfg.BrokerHosts[0], port)
		}
		icfg.BrokerURL = "ssl://" + net.JoinHostPort("127.0.0.1", port)
		icfg.Username, icfg.Password = broker.ServiceUser, pw
		icfg.TLS = &tls.Config{RootCAs: ca.Pool(), ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
	} else {
		if public == "" {
			public = cfg.MQTTURL
		}
		icfg.BrokerURL = cfg.MQTTURL
		if cfg.ServicePassword != "" {
			icfg.Username, icfg.Password = broker.ServiceUser, cfg.ServicePassword
		} else {
			cert, err := serviceCert(ca, cfg.DataDir, now)
			if err != nil {
				return nil, err
			}
			icfg.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: ca.Pool(), MinVersion: tls.VersionTLS12}
		}
		prov, err := provision.New(provision.Config{Store: cfg.Store, CA: ca, Clock: cfg.Clock, Logger: cfg.Logger})
		if err != nil {
			return nil, err
		}
		f.Provision = prov
	}
	f.Provision.SetBrokerURL(public)
	in, err := ingest.New(icfg)
	if err != nil {
		return nil, err
	}
	f.Ingest = in
	f.Pending, err = resend.New(resend.Config{Backoff: cfg.Resend, Clock: cfg.Clock, Logger: cfg.Logger,
		Publish: func(ctx context.Context, c resend.Command) error {
			return in.PublishCommand(ctx, c.DeviceID, c.ID, c.Kind, c.Args, c.ExpiresAt)
		}})
	if err != nil {
		return nil, err
	}
	return f, nil
}

// commandResponse: a device's answer ends the repeats of the fleet's
// command it answers, then goes to the Listener.
func (f *Fleet) commandResponse(ctx context.Context, dev string, r *proto.CommandResponse) {
	if f.Pending.Answered(dev, r.Of) {
		f.cfg.Logger.Info("command answered", slog.String("device_id", dev), slog.String("command_id", r.Of), slog.String("status", r.Status))
	}
	if l := f.cfg.Listener; l != nil {
		l.CommandResponse(ctx, dev, r)
	}
}

// deviceOnline: commands sent to dev from now on reach it. The fleet's
// commands it has not answered are sent again, then the Listener is told
// (the rollouts send their update commands again).
func (f *Fleet) deviceOnline(ctx context.Context, dev string) {
	f.Pending.Online(ctx, dev)
	if l := f.cfg.Listener; l != nil {
		l.DeviceOnline(ctx, dev)
	}
}

// serviceCert loads or issues the cloud's client certificate for an
// external broker (CN svc.livegate-cloud), kept in dataDir with 0600.
func serviceCert(ca *provision.CA, dataDir string, now time.Time) (tls.Certificate, error) {
	cp, kp := filepath.Join(dataDir, "mqtt-service.crt"), filepath.Join(dataDir, "mqtt-service.key")
	if c, err := tls.LoadX509KeyPair(cp, kp); err == nil && c.Leaf != nil && now.Before(c.Leaf.NotAfter.Add(-30*24*time.Hour)) {
		return c, nil
	}
	certPEM, keyPEM, err := ca.IssueKeyPair(broker.ServiceUser, nil, false, now, 365*24*time.Hour)
	if err != nil {
		return tls.Certificate{}, err
	}
	if err := os.WriteFile(kp, keyPEM, 0o600); err != nil {
		return tls.Certificate{}, fmt.Errorf("fleet: write service key: %w", err)
	}
	if err := os.WriteFile(cp, certPEM, 0o644); err != nil {
		return tls.Certificate{}, fmt.Errorf("fleet: write service certificate: %w", err)
	}
	return tls.X509KeyPair(certPEM, keyPEM)
}

// Run runs the embedded broker (if any) and the ingest until ctx is done.
// The broker closes after the ingest has stopped: the ingest is the
// broker's own client, and a client still connecting while the broker
// closes races inside it (its connection count is added to while Close
// waits on it).
func (f *Fleet) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	var berr error
	bctx, stopBroker := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBroker()
	if f.Broker != nil {
		wg.Add(1)
		go func() { defer wg.Done(); berr = f.Broker.Run(bctx) }()
	}
	wg.Add(1)
	go func() { defer wg.Done(); f.Pending.Run(ctx, f.cfg.TickInterval) }()
	err := f.Ingest.Run(ctx)
	stopBroker()
	wg.Wait()
	return errors.Join(err, berr)
}

// CheckDevice reports whether deviceID is an enrolled, unrevoked device of
// tenantID; otherwise the error wraps store.ErrNotFound.
func (f *Fleet) CheckDevice(ctx context.Context, tenantID, deviceID string) error {
	d, err := f.cfg.Store.GetDevice(ctx, deviceID)
	if err != nil {
		return fmt.Errorf("fleet: device %s: %w", deviceID, err)
	}
	if d.TenantID != tenantID || d.Revoked() {
		return fmt.Errorf("fleet: device %s: %w", deviceID, store.ErrNotFound)
	}
	return nil
}

// AssignCommandID is the message id of the assign_session command of
// session sessionID: one id per session, however often and by whichever
// route it is sent (the first send, the fleet's repeats, an idempotent
// replay of the creation, POST /admin/v1/devices/{id}/assign), so the
// kiosk runs it once.
func AssignCommandID(sessionID string) string { return "cmd_assign_" + sessionID }

// AssignSession sends the assign command for a pending session created
// with a device_id (flow 3). The device must belong to the session's tenant
// and not be revoked. The command (id AssignCommandID, valid until the
// session expires) is kept in Pending and sent again until the device
// answers or it expires: when the device's session comes online and on
// the clock. It returns the command id; an error says the broker did not
// take this send (the command is still kept and sent again).
func (f *Fleet) AssignSession(ctx context.Context, sess *core.Session) (string, error) {
	d, err := f.cfg.Store.GetDevice(ctx, sess.DeviceID)
	if err != nil {
		return "", fmt.Errorf("fleet: device %s: %w", sess.DeviceID, err)
	}
	if d.TenantID != sess.TenantID || d.Revoked() {
		return "", fmt.Errorf("fleet: device %s: %w", sess.DeviceID, store.ErrNotFound)
	}
	if !f.cfg.Clock.Now().Before(sess.ExpiresAt) {
		return "", fmt.Errorf("fleet: session %s already expired", sess.ID)
	}
	id := AssignCommandID(sess.ID)
	err = f.Pending.Send(ctx, resend.Command{ID: id, DeviceID: d.ID, Kind: proto.CommandAssignSession, ExpiresAt: sess.ExpiresAt,
		Args: proto.AssignSessionArgs{SessionID: sess.ID, Mode: string(sess.Mode), ExpiresAt: sess.ExpiresAt}})
	if err != nil {
		return "", err
	}
	f.cfg.Logger.Info("assign command sent", slog.String("device_id", d.ID), slog.String("command_id", id), slog.String("session_id", sess.ID))
	return id, nil
}

// SendUpdate sends the update command (proto.CommandUpdate, QoS 1) with
// message id commandID, valid until expiresAt, to an enrolled, unrevoked
// device. The caller chooses the id and the expiry so that it can send the
// same command again (a device with no session on the broker does not get
// it): the device answers a repeated id from its records and never
// installs twice. The device answers on commands/resp with
// proto.UpdateResult naming args.Rollout, which reaches the Listener. It
// satisfies the OTA rollouts' Notifier.
func (f *Fleet) SendUpdate(ctx context.Context, deviceID, commandID string, expiresAt time.Time, args proto.UpdateArgs) error {
	d, err := f.cfg.Store.GetDevice(ctx, deviceID)
	if err != nil {
		return fmt.Errorf("fleet: update %s: device: %w", deviceID, err)
	}
	if d.Revoked() || d.EnrolledAt == nil {
		return fmt.Errorf("fleet: update %s: %w (revoked or not enrolled)", deviceID, store.ErrNotFound)
	}
	if err := f.Ingest.PublishCommand(ctx, deviceID, commandID, proto.CommandUpdate, args, expiresAt); err != nil {
		return err
	}
	f.cfg.Logger.Info("update command sent", slog.String("device_id", deviceID), slog.String("command_id", commandID),
		slog.String("rollout_id", args.Rollout), slog.String("version", args.Version))
	return nil
}
