package ingest

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"livegate.dev/cloud/internal/api/lifecycle"
	"livegate.dev/cloud/internal/clock"
	"livegate.dev/cloud/internal/core"
	"livegate.dev/cloud/internal/store"
	"livegate.dev/cloud/internal/webhook"
	"livegate.dev/proto"
)

// Notifier wakes the webhook worker after deliveries were queued
// (webhook.Worker satisfies it).
type Notifier interface{ Notify() }

// Config configures an Ingest.
type Config struct {
	// Store persists sessions, deliveries and devices. Required.
	Store store.Store
	// BrokerURL is the broker (the embedded one's URL, or --mqtt-url). Required.
	BrokerURL string
	// Username and Password authenticate the cloud's client. Optional.
	Username, Password string
	// TLS configures TLS to the broker (mutual TLS with a service
	// certificate for Mosquitto). Optional.
	TLS *tls.Config
	// ClientID is the MQTT client id of the persistent session. Optional.
	// Default: "livegate-cloud-ingest".
	ClientID string
	// Notifier is told when deliveries were queued. Optional.
	Notifier Notifier
	// Clock is the time source. Optional. Default: clock.Real.
	Clock clock.Clock
	// Logger. Optional. Default: slog.Default().
	Logger *slog.Logger
	// Concurrency bounds the results being stored at once; the store's
	// group commit takes them together. Optional. Default: 256.
	Concurrency int
	// OnCommandResponse is called for each command response. Optional.
	OnCommandResponse func(ctx context.Context, deviceID string, r *proto.CommandResponse)
	// OnTelemetry is called for each telemetry message, after the device's
	// registry entry was updated. Optional.
	OnTelemetry func(ctx context.Context, deviceID string, t *proto.Telemetry)
	// OnOnline is called for each "online" status (the birth a device
	// publishes after every connect), after the registry was updated.
	// Optional.
	OnOnline func(ctx context.Context, deviceID string)
}

// Ingest is the fleet's MQTT consumer.
type Ingest struct {
	cfg    Config
	client paho.Client
	log    *slog.Logger
	sem    chan struct{}

	mu        sync.Mutex
	connected bool
	connCh    chan struct{} // closed while connected
}

// New checks cfg; Run connects.
func New(cfg Config) (*Ingest, error) {
	if cfg.Store == nil || cfg.BrokerURL == "" {
		return nil, errors.New("ingest: Store and BrokerURL are required")
	}
	if cfg.ClientID == "" {
		cfg.ClientID = "livegate-cloud-ingest"
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 256
	}
	in := &Ingest{cfg: cfg, log: cfg.Logger.With(slog.String("component", "fleet-ingest")),
		sem: make(chan struct{}, cfg.Concurrency), connCh: make(chan struct{})}
	o := paho.NewClientOptions().
		AddBroker(cfg.BrokerURL).
		SetClientID(cfg.ClientID).
		SetCleanSession(false).
		SetStore(newCopyStore()).
		SetOrderMatters(false).
		SetAutoReconnect(true).
		SetConnectRetry(true).
		SetConnectRetryInterval(time.Second).
		SetMaxReconnectInterval(10 * time.Second).
		SetKeepAlive(10 * time.Second).
		SetWriteTimeout(10 * time.Second).
		SetDefaultPublishHandler(in.onMessage).
		SetOnConnectHandler(in.onConnect).
		SetConnectionLostHandler(func(_ paho.Client, err error) {
			in.setConnected(false)
			in.log.Warn("mqtt connection lost", slog.String("err", err.Error()))
		})
	if cfg.Username != "" {
		o.SetUsername(cfg.Username).SetPassword(cfg.Password)
	}
	if cfg.TLS != nil {
		o.SetTLSConfig(cfg.TLS)
	}
	in.client = paho.NewClient(o)
	return in, nil
}

func (in *Ingest) setConnected(v bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if v == in.connected {
		return
	}
	in.connected = v
	if v {
		close(in.connCh)
	} else {
		in.connCh = make(chan struct{})
	}
}

// WaitConnected blocks until the client is connected and subscribed, or ctx is done.
func (in *Ingest) WaitConnected(ctx context.Context) error {
	in.mu.Lock()
	ch := in.connCh
	in.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("ingest: waiting for the broker: %w", ctx.Err())
	}
}

func (in *Ingest) onConnect(c paho.Client) {
	subs := map[string]byte{
		proto.AllDevices(proto.TopicSessions):     1,
		proto.AllDevices(proto.TopicStatus):       1,
		proto.AllDevices(proto.TopicCommandsResp): 1,
		proto.AllDevices(proto.TopicTelemetry):    0,
	}
	go func() { // not on paho's connect path
		t := c.SubscribeMultiple(subs, nil)
		if !t.WaitTimeout(10*time.Second) || t.Error() != nil {
			in.log.Error("mqtt subscribe failed", slog.Any("err", t.Error()))
			return
		}
		in.log.Info("mqtt connected and subscribed")
		in.setConnected(true)
	}()
}

// Run connects and consumes until ctx is done, then disconnects.
func (in *Ingest) Run(ctx context.Context) error {
	in.client.Connect()
	<-ctx.Done()
	in.client.Disconnect(250)
	in.setConnected(false)
	return nil
}

func (in *Ingest) onMessage(_ paho.Client, m paho.Message) {
	dev, kind, err := proto.ParseTopic(m.Topic())
	if err != nil {
		in.log.Warn("message on an unknown topic", slog.String("topic", m.Topic()))
		return
	}
	in.sem <- struct{}{}
	defer func() { <-in.sem }()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	switch kind {
	case proto.TopicSessions:
		if _, err := in.HandleResult(ctx, dev, m.Payload()); err != nil {
			in.log.Error("session result not stored", slog.String("device_id", dev), slog.String("err", err.Error()))
		}
	case proto.TopicStatus:
		in.handleStatus(ctx, dev, m.Payload())
	case proto.TopicTelemetry:
		in.handleTelemetry(ctx, dev, m.Payload())
	case proto.TopicCommandsResp:
		var r proto.CommandResponse
		if _, err := proto.Decode(m.Payload(), proto.TypeCommandResponse, &r); err != nil {
			in.log.Warn("bad command response", slog.String("device_id", dev), slog.String("err", err.Error()))
			return
		}
		in.log.Info("command response", slog.String("device_id", dev), slog.String("of", r.Of), slog.String("status", r.Status))
		if in.cfg.OnCommandResponse != nil {
			in.cfg.OnCommandResponse(ctx, dev, &r)
		}
	}
}

// ErrForeignSession: the result names a session that is not this device's.
var ErrForeignSession = errors.New("ingest: session belongs to another device or tenant")

// HandleResult stores one result of device dev (payload is the message as
// published) and, once it is durable, publishes its Ack, which it returns.
// A permanent refusal (a payload that does not decode, an unknown or
// revoked device, a foreign session) returns an error and no ack: the
// device keeps the entry, and the operator sees the error in the log.
func (in *Ingest) HandleResult(ctx context.Context, dev string, payload []byte) (*proto.Ack, error) {
	var r proto.SessionResult
	env, err := proto.Decode(payload, proto.TypeSessionResult, &r)
	if err != nil {
		return nil, fmt.Errorf("ingest: result from %s: %w", dev, err)
	}
	d, err := in.cfg.Store.GetDevice(ctx, dev)
	if err != nil {
		return nil, fmt.Errorf("ingest: result %s from %s: device: %w", r.SessionID, dev, err)
	}
	if d.Revoked() {
		return nil, fmt.Errorf("ingest: result %s from revoked device %s", r.SessionID, dev)
	}
	now := in.cfg.Clock.Now()
	var dup, queued bool
	if r.Assigned {
		dup, queued, err = in.completeAssigned(ctx, d, &r, now)
	} else {
		dup, queued, err = in.createSession(ctx, d, &r, now)
	}
	if err != nil {
		return nil, err
	}
	if queued && in.cfg.Notifier != nil {
		in.cfg.Notifier.Notify()
	}
	ack := &proto.Ack{Of: env.ID, SessionID: r.SessionID, Duplicate: dup, Received: now}
	data, err := proto.Encode("ack-"+env.ID, proto.TypeAck, now, ack)
	if err != nil {
		return nil, err
	}
	// Not waiting for the broker's PUBACK of the ack: it would double the
	// time each result holds a slot. An ack lost with the connection is
	// harmless: the device republishes and gets a duplicate ack.
	in.client.Publish(proto.Topic(dev, proto.TopicAcks), 1, false, data)
	return ack, nil
}

func checksOf(layers []proto.Layer) []core.Check {
	out := make([]core.Check, 0, len(layers))
	for _, l := range layers {
		st := "failed"
		if l.Passed {
			st = "passed"
		}
		out = append(out, core.Check{Name: l.Name, Status: st, Score: l.Score})
	}
	return out
}

func completedEvent(sess *core.Session, now time.Time) ([]*core.Delivery, error) {
	if sess.WebhookURL == "" {
		return nil, nil
	}
	data, err := json.Marshal(lifecycle.ResultOf(sess))
	if err != nil {
		return nil, fmt.Errorf("ingest: encode result of %s: %w", sess.ID, err)
	}
	dl, err := webhook.NewDelivery(now, core.EventSessionCompleted, sess, data)
	if err != nil {
		return nil, err
	}
	return []*core.Delivery{dl}, nil
}

func (in *Ingest) createSession(ctx context.Context, d *store.Device, r *proto.SessionResult, now time.Time) (dup, queued bool, err error) {
	v, conf := core.Verdict(r.Verdict), r.Confidence
	completed := now
	sess := &core.Session{
		ID: r.SessionID, Kind: core.KindManaged, TenantID: d.TenantID, Mode: core.Mode(r.Mode),
		WebhookURL: d.WebhookURL, DeviceID: d.ID,
		TokenHash: core.HashSecret(core.NewSecret("unused_")), ClientTokenHash: core.HashSecret(core.NewSecret("unused_")),
		ClientExpiresAt: now, Status: core.StatusCompleted, CreatedAt: now, UpdatedAt: now, ExpiresAt: now,
		CompletedAt: &completed, Verdict: &v, Confidence: &conf, Checks: checksOf(r.Layers),
		Reasons: append([]string{}, r.Reasons...), Attempts: 1, Version: 1,
	}
	if !r.StartedAt.IsZero() {
		sess.CreatedAt = r.StartedAt.UTC()
	}
	events, err := completedEvent(sess, now)
	if err != nil {
		return false, false, err
	}
	_, err = in.cfg.Store.CreateSession(ctx, sess, events)
	if errors.Is(err, store.ErrExists) {
		prev, gerr := in.cfg.Store.GetSession(ctx, r.SessionID)
		if gerr != nil {
			return false, false, fmt.Errorf("ingest: duplicate %s: %w", r.SessionID, gerr)
		}
		if prev.DeviceID != d.ID || prev.TenantID != d.TenantID {
			return false, false, fmt.Errorf("%w: %s from %s", ErrForeignSession, r.SessionID, d.ID)
		}
		return true, false, nil
	}
	if err != nil {
		return false, false, fmt.Errorf("ingest: store result %s from %s: %w", r.SessionID, d.ID, err)
	}
	return false, len(events) > 0, nil
}

func (in *Ingest) completeAssigned(ctx context.Context, d *store.Device, r *proto.SessionResult, now time.Time) (dup, queued bool, err error) {
	_, err = in.cfg.Store.UpdateSession(ctx, r.SessionID, func(cur *core.Session) ([]*core.Delivery, error) {
		dup, queued = false, false
		if cur.DeviceID != d.ID || cur.TenantID != d.TenantID {
			return nil, fmt.Errorf("%w: %s from %s", ErrForeignSession, r.SessionID, d.ID)
		}
		if cur.Status.Terminal() {
			dup = true
			return nil, errDuplicate
		}
		v, conf := core.Verdict(r.Verdict), r.Confidence
		cur.Status, cur.UpdatedAt, cur.CompletedAt = core.StatusCompleted, now, &now
		cur.Verdict, cur.Confidence = &v, &conf
		cur.Checks = checksOf(r.Layers)
		cur.Reasons = append([]string{}, r.Reasons...)
		cur.Attempts++
		ds, err := completedEvent(cur, now)
		queued = len(ds) > 0
		return ds, err
	})
	if errors.Is(err, errDuplicate) {
		// Completed before (this result) or expired/cancelled meanwhile:
		// nothing to store; ack so the device stops resending.
		return true, false, nil
	}
	if err != nil {
		return false, false, fmt.Errorf("ingest: complete assigned session %s from %s: %w", r.SessionID, d.ID, err)
	}
	return false, queued, nil
}

var errDuplicate = errors.New("already terminal")

func (in *Ingest) handleStatus(ctx context.Context, dev string, payload []byte) {
	var st proto.Status
	if _, err := proto.Decode(payload, proto.TypeStatus, &st); err != nil {
		in.log.Warn("bad status", slog.String("device_id", dev), slog.String("err", err.Error()))
		return
	}
	now := in.cfg.Clock.Now()
	_, err := in.cfg.Store.UpdateDevice(ctx, dev, func(d *store.Device) error {
		d.Status = st.State
		d.LastSeen = &now
		if st.FirmwareVersion != "" {
			d.FirmwareVersion = st.FirmwareVersion
		}
		if st.ModelsVersion != "" {
			d.ModelsVersion = st.ModelsVersion
		}
		return nil
	})
	if err != nil {
		in.log.Warn("status of an unknown device", slog.String("device_id", dev), slog.String("err", err.Error()))
		return
	}
	if st.State == proto.StatusOnline && in.cfg.OnOnline != nil {
		in.cfg.OnOnline(ctx, dev)
	}
}

func (in *Ingest) handleTelemetry(ctx context.Context, dev string, payload []byte) {
	var t proto.Telemetry
	if _, err := proto.Decode(payload, proto.TypeTelemetry, &t); err != nil {
		in.log.Warn("bad telemetry", slog.String("device_id", dev), slog.String("err", err.Error()))
		return
	}
	now := in.cfg.Clock.Now()
	_, err := in.cfg.Store.UpdateDevice(ctx, dev, func(d *store.Device) error {
		d.LastSeen, d.LastTelemetryAt = &now, &now
		d.FirmwareVersion, d.ModelsVersion = t.FirmwareVersion, t.ModelsVersion
		d.OutboxDepth, d.ClockSkewMillis = t.OutboxDepth, t.ClockSkewMillis
		return nil
	})
	if err != nil {
		in.log.Warn("telemetry of an unknown device", slog.String("device_id", dev), slog.String("err", err.Error()))
		return
	}
	if in.cfg.OnTelemetry != nil {
		in.cfg.OnTelemetry(ctx, dev, &t)
	}
}

// PublishCommand publishes a command with the message id and expiry the
// caller chose (QoS 1). Publishing the same id again is a redelivery: the
// device answers it from its records instead of running it twice. It
// returns once the broker took the message; a device with no session on
// the broker (the embedded broker keeps sessions in memory only) does not
// get it, so a caller that needs it delivered sends it again until the
// device answers (the OTA rollouts for their update commands, the fleet's
// resend.Pending for the others).
func (in *Ingest) PublishCommand(ctx context.Context, dev, id, kind string, args any, expiresAt time.Time) error {
	if err := proto.ValidDeviceID(dev); err != nil {
		return err
	}
	now := in.cfg.Clock.Now()
	cmd := proto.Command{Kind: kind, ExpiresAt: expiresAt}
	if args != nil {
		b, err := json.Marshal(args)
		if err != nil {
			return fmt.Errorf("ingest: encode %s args: %w", kind, err)
		}
		cmd.Args = b
	}
	if err := cmd.Validate(); err != nil {
		return fmt.Errorf("ingest: command to %s: %w", dev, err)
	}
	data, err := proto.Encode(id, proto.TypeCommand, now, &cmd)
	if err != nil {
		return err
	}
	t := in.client.Publish(proto.Topic(dev, proto.TopicCommands), 1, false, data)
	select {
	case <-t.Done():
		if err := t.Error(); err != nil {
			return fmt.Errorf("ingest: publish %s command to %s: %w", kind, dev, err)
		}
	case <-ctx.Done():
		return fmt.Errorf("ingest: publish %s command to %s: %w", kind, dev, ctx.Err())
	}
	return nil
}
