package sync

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	gosync "sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"livegate.dev/firmware/outbox"
	"livegate.dev/proto"
)

// CommandHandler runs the cloud's commands on the kiosk. HandleCommand is
// called once per command message (redeliveries of the same message id are
// answered from memory), never for an expired command, and its response is
// published on commands/resp. It runs on the message path, so it must
// return quickly: start long work (an update) in the background and answer
// "accepted".
type CommandHandler interface {
	HandleCommand(ctx context.Context, id string, cmd *proto.Command) proto.CommandResponse
}

// Config configures a Client.
type Config struct {
	// DeviceID is the device's id: its MQTT client id and topic level. Required.
	DeviceID string
	// BrokerURL is the broker, e.g. ssl://mqtt.example.com:8883 or tcp://127.0.0.1:1883. Required.
	BrokerURL string
	// Outbox holds the results to deliver. Required.
	Outbox *outbox.Outbox
	// Username and Password authenticate in password mode. Optional.
	Username, Password string
	// TLS is the TLS configuration (client certificate for mutual TLS, the
	// device CA as RootCAs). Optional.
	TLS *tls.Config
	// Handler runs commands. Optional. Default: every command is refused.
	Handler CommandHandler
	// Clock is the time source. Optional. Default: RealClock.
	Clock Clock
	// Logger. Optional. Default: slog.Default().
	Logger *slog.Logger
	// Window is how many results may await their ack at once. Optional. Default: 256.
	Window int
	// AckTimeout: unacknowledged results are published again after it. Optional. Default: 30s.
	AckTimeout time.Duration
	// MaxReconnectInterval caps the reconnect backoff. Optional. Default: 30s.
	MaxReconnectInterval time.Duration
	// KeepAlive is the MQTT keepalive: a dead link is noticed after about
	// 1.5× it. Optional. Default: 30s.
	KeepAlive time.Duration
	// TelemetryInterval is how often telemetry is published. Optional. Default: 60s.
	TelemetryInterval time.Duration
	// Telemetry fills the static telemetry fields (versions, board,
	// temperatures); the client sets OutboxDepth, UptimeSeconds and
	// ClockSkewMillis. Optional.
	Telemetry func() proto.Telemetry
	// FirmwareVersion and ModelsVersion go into the birth message and
	// telemetry. Optional.
	FirmwareVersion, ModelsVersion string
	// Versions, if set, is asked for the versions at every birth and
	// telemetry instead of the two fields above: the versions of the slots
	// that run now, which change when a new version on trial is rolled
	// back. An empty string falls back to the field. Optional.
	Versions func() (firmware, models string)
}

func configDefault(c Config) (Config, error) {
	if err := proto.ValidDeviceID(c.DeviceID); err != nil {
		return c, fmt.Errorf("sync: %w", err)
	}
	if c.BrokerURL == "" || c.Outbox == nil {
		return c, errors.New("sync: BrokerURL and Outbox are required")
	}
	if c.Clock == nil {
		c.Clock = RealClock{}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Window <= 0 {
		c.Window = 256
	}
	if c.AckTimeout <= 0 {
		c.AckTimeout = 30 * time.Second
	}
	if c.MaxReconnectInterval <= 0 {
		c.MaxReconnectInterval = 30 * time.Second
	}
	if c.KeepAlive <= 0 {
		c.KeepAlive = 30 * time.Second
	}
	if c.TelemetryInterval <= 0 {
		c.TelemetryInterval = time.Minute
	}
	return c, nil
}

// Client syncs one device with the cloud. Create it with New, run it with Run.
type Client struct {
	cfg     Config
	mqtt    mqtt.Client
	started time.Time
	log     *slog.Logger

	wake  chan struct{} // pump: something changed
	acks  chan ackIn
	reset atomic.Bool // pump: resend from the start (after a connect)

	mu       gosync.Mutex
	inflight map[string]time.Time // message id → sent at (device clock)
	skew     time.Duration
	skewRTT  time.Duration
	skewAt   time.Time
	haveSkew bool
	cmdSeen  map[string]answer
	cmdOrder []string
	// respMu orders the answers to commands: a handler's first answer is
	// published before any later one from Respond.
	respMu gosync.Mutex

	connMu gosync.Mutex
	connUp chan struct{} // closed while connected
	connOK bool

	connected atomic.Bool
	runCtx    atomic.Pointer[context.Context]
}

// answer is the latest answer to a command and the message id it was
// published under (a redelivered command gets it again, same id).
type answer struct {
	resp  proto.CommandResponse
	msgID string
}

type ackIn struct {
	ack  proto.Ack
	recv time.Time
}

// New checks cfg and prepares the MQTT client; Run connects.
func New(cfg Config) (*Client, error) {
	cfg, err := configDefault(cfg)
	if err != nil {
		return nil, err
	}
	c := &Client{
		cfg:      cfg,
		log:      cfg.Logger.With(slog.String("device_id", cfg.DeviceID)),
		wake:     make(chan struct{}, 1),
		acks:     make(chan ackIn, 4096),
		inflight: map[string]time.Time{},
		cmdSeen:  map[string]answer{},
		connUp:   make(chan struct{}),
	}
	will, err := c.statusPayload(proto.StatusOffline)
	if err != nil {
		return nil, err
	}
	o := mqtt.NewClientOptions().
		AddBroker(cfg.BrokerURL).
		SetClientID(cfg.DeviceID).
		SetCleanSession(false).
		SetStore(newCopyStore()).
		SetOrderMatters(true).
		SetAutoReconnect(true).
		SetConnectRetry(true).
		SetConnectRetryInterval(min(time.Second, cfg.MaxReconnectInterval)).
		SetMaxReconnectInterval(cfg.MaxReconnectInterval).
		SetConnectTimeout(10*time.Second).
		SetKeepAlive(cfg.KeepAlive).
		SetPingTimeout(cfg.KeepAlive).
		SetWriteTimeout(10*time.Second).
		SetBinaryWill(proto.Topic(cfg.DeviceID, proto.TopicStatus), will, 1, true).
		SetDefaultPublishHandler(c.onMessage).
		SetOnConnectHandler(c.onConnect).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) {
			c.setConnected(false)
			c.log.Warn("mqtt connection lost", slog.String("err", err.Error()))
		})
	if cfg.Username != "" {
		o.SetUsername(cfg.Username).SetPassword(cfg.Password)
	}
	if cfg.TLS != nil {
		o.SetTLSConfig(cfg.TLS)
	}
	c.mqtt = mqtt.NewClient(o)
	return c, nil
}

func (c *Client) statusPayload(state string) ([]byte, error) {
	now := c.cfg.Clock.Now()
	st := proto.Status{State: state}
	if state == proto.StatusOnline {
		st.FirmwareVersion, st.ModelsVersion = c.versions()
	}
	return proto.Encode(fmt.Sprintf("%s-%s-%d", c.cfg.DeviceID, state, now.UnixNano()), proto.TypeStatus, now, &st)
}

func (c *Client) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *Client) onConnect(cl mqtt.Client) {
	c.log.Info("mqtt connected")
	birth, err := c.statusPayload(proto.StatusOnline)
	if err == nil {
		cl.Publish(proto.Topic(c.cfg.DeviceID, proto.TopicStatus), 1, true, birth)
	}
	subs := map[string]byte{
		proto.Topic(c.cfg.DeviceID, proto.TopicAcks):     1,
		proto.Topic(c.cfg.DeviceID, proto.TopicCommands): 1,
	}
	// Waiting here would block paho's connect path; the subscription is
	// also kept by the persistent session.
	cl.SubscribeMultiple(subs, nil)
	c.setConnected(true)
	c.reset.Store(true)
	c.signal()
}

func (c *Client) onMessage(_ mqtt.Client, m mqtt.Message) {
	_, kind, err := proto.ParseTopic(m.Topic())
	if err != nil {
		c.log.Warn("message on an unknown topic", slog.String("topic", m.Topic()))
		return
	}
	switch kind {
	case proto.TopicAcks:
		var a proto.Ack
		if _, err := proto.Decode(m.Payload(), proto.TypeAck, &a); err != nil {
			c.log.Warn("bad ack", slog.String("err", err.Error()))
			return
		}
		c.acks <- ackIn{ack: a, recv: c.cfg.Clock.Now()}
	case proto.TopicCommands:
		c.onCommand(m.Payload())
	}
}

// Submit encodes r and appends it to the outbox; when it returns nil the
// result is durable and the kiosk may open the gate. It returns the message
// id, or outbox.ErrFull (the kiosk must refuse new sessions).
func (c *Client) Submit(r *proto.SessionResult) (string, error) {
	if err := r.Validate(); err != nil {
		return "", fmt.Errorf("sync: submit session %s: %w", r.SessionID, err)
	}
	now := c.cfg.Clock.Now()
	id, data, err := EncodeResult(r, now)
	if err != nil {
		return "", err
	}
	// The append wakes the pump (outbox.Appended), as any other writer's does.
	if _, err := c.cfg.Outbox.Append(id, now, data); err != nil {
		return "", fmt.Errorf("sync: submit session %s: %w", r.SessionID, err)
	}
	return id, nil
}

// EncodeResult is the outbox entry of r: its message id ("res_" + session
// id, so a result is queued once) and payload.
func EncodeResult(r *proto.SessionResult, now time.Time) (string, []byte, error) {
	id := "res_" + r.SessionID
	data, err := proto.Encode(id, proto.TypeSessionResult, now, r)
	return id, data, err
}

// Connected reports whether the MQTT connection is up.
func (c *Client) Connected() bool { return c.connected.Load() }

// ClockSkew returns device time minus cloud time, measured from the ack
// with the shortest round trip seen so far, and whether one was measured.
func (c *Client) ClockSkew() (time.Duration, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.skew, c.haveSkew
}

// Run connects and syncs until ctx is done, then publishes "stopped" and
// disconnects cleanly. It returns nil after a clean stop.
func (c *Client) Run(ctx context.Context) error {
	c.started = c.cfg.Clock.Now()
	c.runCtx.Store(&ctx)
	c.mqtt.Connect() // retries in the background until connected
	var wg gosync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); c.pump(ctx) }()
	go func() { defer wg.Done(); c.ackLoop(ctx) }()
	go func() { defer wg.Done(); c.telemetryLoop(ctx) }()
	<-ctx.Done()
	wg.Wait()
	if c.mqtt.IsConnectionOpen() {
		if p, err := c.statusPayload(proto.StatusStopped); err == nil {
			t := c.mqtt.Publish(proto.Topic(c.cfg.DeviceID, proto.TopicStatus), 1, true, p)
			t.WaitTimeout(2 * time.Second)
		}
	}
	c.mqtt.Disconnect(250)
	c.setConnected(false)
	return nil
}

// pump publishes outbox entries in order, keeping at most Window awaiting
// their ack, and republishes everything unacknowledged after a connect or
// an ack timeout. It wakes on a connect or an ack (c.wake), on any append
// to the outbox, whoever the writer (the kiosk appends without Submit), and
// on the ack-timeout check.
func (c *Client) pump(ctx context.Context) {
	var cursor uint64
	topic := proto.Topic(c.cfg.DeviceID, proto.TopicSessions)
	appended := c.cfg.Outbox.Appended()
	for {
		var timer <-chan time.Time
		c.mu.Lock()
		if len(c.inflight) > 0 {
			timer = c.cfg.Clock.After(c.cfg.AckTimeout / 4)
		}
		c.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-c.wake:
		case <-appended:
		case <-timer:
		}
		// Taken before the outbox is read: an entry appended after the
		// read closes it and wakes the next wait.
		appended = c.cfg.Outbox.Appended()
		if !c.connected.Load() {
			continue
		}
		now := c.cfg.Clock.Now()
		c.mu.Lock()
		resend := c.reset.Swap(false)
		for _, at := range c.inflight {
			if now.Sub(at) >= c.cfg.AckTimeout {
				resend = true
				break
			}
		}
		if resend {
			cursor = 0
			clear(c.inflight)
		}
		room := c.cfg.Window - len(c.inflight)
		c.mu.Unlock()
		for room > 0 && c.connected.Load() {
			es, err := c.cfg.Outbox.After(cursor, room)
			if err != nil {
				c.log.Error("reading the outbox", slog.String("err", err.Error()))
				break
			}
			if len(es) == 0 {
				break
			}
			for _, e := range es {
				c.mu.Lock()
				c.inflight[e.ID] = c.cfg.Clock.Now()
				c.mu.Unlock()
				c.mqtt.Publish(topic, 1, false, e.Payload)
				cursor = e.Seq
				room--
			}
		}
	}
}

// ackLoop deletes acknowledged entries from the outbox, in batches.
func (c *Client) ackLoop(ctx context.Context) {
	for {
		var batch []ackIn
		select {
		case <-ctx.Done():
			return
		case a := <-c.acks:
			batch = append(batch, a)
		}
	more:
		for len(batch) < 1024 {
			select {
			case a := <-c.acks:
				batch = append(batch, a)
			default:
				break more
			}
		}
		ids := make([]string, len(batch))
		for i, a := range batch {
			ids[i] = a.ack.Of
		}
		if _, err := c.cfg.Outbox.Delete(ids...); err != nil {
			// The entries stay and are resent; the cloud acks duplicates again.
			c.log.Error("deleting acknowledged entries", slog.String("err", err.Error()))
			continue
		}
		c.mu.Lock()
		for _, a := range batch {
			if sent, ok := c.inflight[a.ack.Of]; ok {
				c.measureSkew(sent, a.recv, a.ack.Received)
				delete(c.inflight, a.ack.Of)
			}
		}
		c.mu.Unlock()
		c.signal()
	}
}

// measureSkew takes one sample: the cloud stamped the ack between sent and
// recv (device clock), so device − cloud ≈ midpoint − received, with an
// error of at most half the round trip. The sample with the shortest round
// trip wins; a sample older than a few minutes is replaced anyway.
func (c *Client) measureSkew(sent, recv, cloud time.Time) {
	if cloud.IsZero() || recv.Before(sent) {
		return
	}
	rtt := recv.Sub(sent)
	if c.haveSkew && rtt > c.skewRTT && recv.Sub(c.skewAt) < 5*time.Minute {
		return
	}
	c.skew = sent.Add(rtt / 2).Sub(cloud)
	c.skewRTT, c.skewAt = rtt, recv
	c.haveSkew = true
}

func (c *Client) telemetryLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.cfg.Clock.After(c.cfg.TelemetryInterval):
		}
		if c.connected.Load() {
			if err := c.PublishTelemetry(); err != nil {
				c.log.Warn("telemetry", slog.String("err", err.Error()))
			}
		}
	}
}

// TelemetryNow returns the telemetry the client would publish now.
func (c *Client) TelemetryNow() proto.Telemetry {
	var t proto.Telemetry
	if c.cfg.Telemetry != nil {
		t = c.cfg.Telemetry()
	}
	fw, mv := c.versions()
	if t.FirmwareVersion == "" {
		t.FirmwareVersion = fw
	}
	if t.ModelsVersion == "" {
		t.ModelsVersion = mv
	}
	t.OutboxDepth = c.cfg.Outbox.Stats().Entries
	t.UptimeSeconds = int64(c.cfg.Clock.Now().Sub(c.started) / time.Second)
	if s, ok := c.ClockSkew(); ok {
		t.ClockSkewMillis = s.Milliseconds()
	}
	return t
}

// PublishTelemetry publishes telemetry once (QoS 0).
func (c *Client) PublishTelemetry() error {
	t := c.TelemetryNow()
	now := c.cfg.Clock.Now()
	data, err := proto.Encode(fmt.Sprintf("tel-%s-%d", c.cfg.DeviceID, now.UnixNano()), proto.TypeTelemetry, now, &t)
	if err != nil {
		return err
	}
	c.mqtt.Publish(proto.Topic(c.cfg.DeviceID, proto.TopicTelemetry), 0, false, data)
	return nil
}

func (c *Client) onCommand(payload []byte) {
	var cmd proto.Command
	env, err := proto.Decode(payload, proto.TypeCommand, &cmd)
	if err != nil {
		c.log.Warn("bad command", slog.String("err", err.Error()))
		return
	}
	c.respMu.Lock()
	defer c.respMu.Unlock()
	c.mu.Lock()
	ans, seen := c.cmdSeen[env.ID]
	c.mu.Unlock()
	if !seen {
		ctx := context.Background()
		if p := c.runCtx.Load(); p != nil {
			ctx = *p
		}
		var resp proto.CommandResponse
		switch {
		case !c.cfg.Clock.Now().Before(cmd.ExpiresAt):
			resp = proto.CommandResponse{Status: "refused", Error: "command expired"}
		case c.cfg.Handler == nil:
			resp = proto.CommandResponse{Status: "refused", Error: "no command handler"}
		default:
			resp = c.cfg.Handler.HandleCommand(ctx, env.ID, &cmd)
		}
		resp.Of = env.ID
		ans = answer{resp: resp, msgID: "resp-" + env.ID}
		c.remember(env.ID, ans)
	}
	c.log.Info("command", slog.String("kind", cmd.Kind), slog.String("status", ans.resp.Status))
	if err := c.publishAnswer(ans); err != nil {
		c.log.Error("encoding a command response", slog.String("err", err.Error()))
	}
}

// remember keeps ans as the latest answer to command id (the last 256
// commands are remembered). Callers hold respMu.
func (c *Client) remember(id string, ans answer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.cmdSeen[id]; !ok {
		c.cmdOrder = append(c.cmdOrder, id)
		if len(c.cmdOrder) > 256 {
			delete(c.cmdSeen, c.cmdOrder[0])
			c.cmdOrder = c.cmdOrder[1:]
		}
	}
	c.cmdSeen[id] = ans
}

func (c *Client) publishAnswer(ans answer) error {
	now := c.cfg.Clock.Now()
	data, err := proto.Encode(ans.msgID, proto.TypeCommandResponse, now, &ans.resp)
	if err != nil {
		return err
	}
	c.mqtt.Publish(proto.Topic(c.cfg.DeviceID, proto.TopicCommandsResp), 1, false, data)
	return nil
}

// ErrNotConnected: Respond could not hand its answer to the MQTT client.
var ErrNotConnected = errors.New("sync: not connected")

// Respond publishes a further answer to the command commandID (QoS 1 on
// commands/resp), e.g. an update's progress after the first "accepted",
// or its final result after a restart. resp.Of is set to commandID. The
// answer becomes the one a redelivery of that command gets.
//
// Its message id is "resp-<command id>-<12 hex digits of the answer's
// SHA-256>": distinct answers get distinct ids, and the same answer sent
// again (a final result repeated after a crash) gets the same id, so a
// consumer that dedupes by message id sees it once.
//
// Respond waits until the client is connected, hands the message to paho
// (which keeps it across reconnects of this process) and returns once the
// broker acknowledged it (PUBACK), or with ctx's error. It must not be
// called from inside CommandHandler.HandleCommand.
func (c *Client) Respond(ctx context.Context, commandID string, resp proto.CommandResponse) error {
	resp.Of = commandID
	if err := resp.Validate(); err != nil {
		return fmt.Errorf("sync: respond to %s: %w", commandID, err)
	}
	b, err := json.Marshal(&resp)
	if err != nil {
		return fmt.Errorf("sync: respond to %s: %w", commandID, err)
	}
	sum := sha256.Sum256(b)
	ans := answer{resp: resp, msgID: "resp-" + commandID + "-" + hex.EncodeToString(sum[:6])}
	c.respMu.Lock()
	c.remember(commandID, ans)
	c.respMu.Unlock()
	for {
		if err := c.WaitConnected(ctx); err != nil {
			return fmt.Errorf("sync: respond to %s: %w", commandID, err)
		}
		data, err := proto.Encode(ans.msgID, proto.TypeCommandResponse, c.cfg.Clock.Now(), &ans.resp)
		if err != nil {
			return err
		}
		c.respMu.Lock()
		tok := c.mqtt.Publish(proto.Topic(c.cfg.DeviceID, proto.TopicCommandsResp), 1, false, data)
		c.respMu.Unlock()
		select {
		case <-ctx.Done():
			return fmt.Errorf("sync: respond to %s: %w", commandID, ctx.Err())
		case <-tok.Done():
		}
		switch err := tok.Error(); {
		case err == nil:
			return nil
		case errors.Is(err, mqtt.ErrNotConnected):
			// Lost before paho took it: wait for the next connect.
			c.setConnected(false)
		default:
			return fmt.Errorf("sync: respond to %s: %w", commandID, err)
		}
	}
}

// WaitConnected returns nil once the MQTT connection is up (at once if it
// is), or ctx's error.
func (c *Client) WaitConnected(ctx context.Context) error {
	c.connMu.Lock()
	ch := c.connUp
	c.connMu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *Client) setConnected(up bool) {
	c.connMu.Lock()
	defer c.connMu.Unlock()
	c.connected.Store(up)
	switch {
	case up && !c.connOK:
		close(c.connUp)
	case !up && c.connOK:
		c.connUp = make(chan struct{})
	}
	c.connOK = up
}

// Announce publishes the retained "online" status again with the versions
// that run now (Config.Versions), e.g. once a new version on trial was
// confirmed or rolled back. It does nothing while disconnected; every
// connect announces anyway.
func (c *Client) Announce() error {
	if !c.connected.Load() {
		return nil
	}
	birth, err := c.statusPayload(proto.StatusOnline)
	if err != nil {
		return err
	}
	c.mqtt.Publish(proto.Topic(c.cfg.DeviceID, proto.TopicStatus), 1, true, birth)
	return nil
}

func (c *Client) versions() (firmware, models string) {
	firmware, models = c.cfg.FirmwareVersion, c.cfg.ModelsVersion
	if c.cfg.Versions != nil {
		f, m := c.cfg.Versions()
		if f != "" {
			firmware = f
		}
		if m != "" {
			models = m
		}
	}
	return firmware, models
}
