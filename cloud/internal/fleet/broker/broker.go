package broker

import (
	"bytes"
	"context"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"

	"livegate.dev/proto"
)

// ServiceUser is the username of the cloud's own MQTT client. It is not a
// valid device id (it has a "."), so no device can take it; it has no ":" so that it fits a Mosquitto password file.
const ServiceUser = "svc.livegate-cloud"

// Authenticator checks a device's credentials. The broker has already
// checked that the client id is a valid device id and, for a client
// certificate, that it chains to the device CA.
type Authenticator interface {
	// AuthenticateDevice returns nil if device id may connect with password
	// (nil when a certificate is presented) or the verified leaf
	// certificate cert (nil in password mode).
	AuthenticateDevice(ctx context.Context, id string, password []byte, cert *x509.Certificate) error
}

// Config configures a Broker.
type Config struct {
	// Addr is the listen address, e.g. ":8883" or "127.0.0.1:0". Required.
	Addr string
	// TLS, when set, serves MQTT over TLS; set ClientAuth to
	// tls.VerifyClientCertIfGiven and ClientCAs to the device CA for mutual
	// TLS (devices in password mode then connect without a certificate).
	// Optional. Default: plain TCP (tests and a broker behind a TLS proxy).
	TLS *tls.Config
	// Devices authenticates devices. Required.
	Devices Authenticator
	// ServicePassword authenticates the cloud's own client (ServiceUser). Required.
	ServicePassword []byte
	// OnCommandsSubscribed is called, on a goroutine of its own, each time
	// a device's subscription to its commands topic is taken (after every
	// connect: the device subscribes again even when the broker kept its
	// session). From then on a command published to the device reaches
	// it; one published while it had no session was dropped, and its
	// sender may send it again now. Optional.
	OnCommandsSubscribed func(deviceID string)
	// MaxWritesPending bounds the packets queued to one client
	// (mochi MaximumClientWritesPending). Optional. Default: 65536.
	MaxWritesPending int32
	// Logger. Optional. Default: slog.Default().
	Logger *slog.Logger
}

// Broker is the embedded broker.
type Broker struct {
	srv  *mqtt.Server
	lis  *listeners.TCP
	cfg  Config
	done chan struct{}
}

// New configures the broker and starts listening; Serve runs it.
func New(cfg Config) (*Broker, error) {
	if cfg.Addr == "" || cfg.Devices == nil || len(cfg.ServicePassword) == 0 {
		return nil, errors.New("broker: Addr, Devices and ServicePassword are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxWritesPending <= 0 {
		cfg.MaxWritesPending = 1 << 16
	}
	caps := mqtt.NewDefaultServerCapabilities()
	caps.MaximumClientWritesPending = cfg.MaxWritesPending
	caps.MaximumInflight = 1<<16 - 1
	srv := mqtt.New(&mqtt.Options{Capabilities: caps, Logger: slog.New(redactLogs(cfg.Logger.Handler())).With(slog.String("component", "mqtt-broker"))})
	if err := srv.AddHook(&authHook{cfg: &cfg}, nil); err != nil {
		return nil, fmt.Errorf("broker: add auth hook: %w", err)
	}
	lis := listeners.NewTCP(listeners.Config{Type: "tcp", ID: "mqtt", Address: cfg.Addr, TLSConfig: cfg.TLS})
	if err := srv.AddListener(lis); err != nil {
		return nil, fmt.Errorf("broker: listen on %s: %w", cfg.Addr, err)
	}
	return &Broker{srv: srv, lis: lis, cfg: cfg, done: make(chan struct{})}, nil
}

// Addr is the address the broker listens on (with the port chosen for ":0").
func (b *Broker) Addr() string { return b.lis.Address() }

// URL is the broker's URL for a client on this machine (tcp:// or ssl://).
func (b *Broker) URL() string {
	_, port, _ := net.SplitHostPort(b.Addr())
	scheme := "tcp"
	if b.cfg.TLS != nil {
		scheme = "ssl"
	}
	return scheme + "://127.0.0.1:" + port
}

// Run serves until ctx is done, then closes every connection.
func (b *Broker) Run(ctx context.Context) error {
	if err := b.srv.Serve(); err != nil {
		return fmt.Errorf("broker: serve: %w", err)
	}
	<-ctx.Done()
	return b.srv.Close()
}

// Disconnect drops device id's live connection, if any (after a revocation:
// its reconnect is then refused by the Authenticator).
func (b *Broker) Disconnect(id string) {
	if cl, ok := b.srv.Clients.Get(id); ok && !cl.Closed() {
		_ = b.srv.DisconnectClient(cl, packets.ErrNotAuthorized)
		cl.Stop(errors.New("device credentials revoked"))
	}
}

type authHook struct {
	mqtt.HookBase
	cfg *Config
}

func (h *authHook) ID() string { return "livegate-device-auth" }

func (h *authHook) Provides(b byte) bool {
	return bytes.Contains([]byte{mqtt.OnConnectAuthenticate, mqtt.OnACLCheck, mqtt.OnSubscribed}, []byte{b})
}

// OnSubscribed tells Config.OnCommandsSubscribed when a device's
// subscription to its own commands topic was granted.
func (h *authHook) OnSubscribed(cl *mqtt.Client, pk packets.Packet, reasonCodes []byte) {
	if h.cfg.OnCommandsSubscribed == nil || cl.Net.Inline || string(cl.Properties.Username) == ServiceUser {
		return
	}
	for i, sub := range pk.Filters {
		if i >= len(reasonCodes) || reasonCodes[i] > packets.CodeGrantedQos2.Code {
			continue
		}
		if dev, kind, err := proto.ParseTopic(sub.Filter); err == nil && dev == cl.ID && kind == proto.TopicCommands {
			go h.cfg.OnCommandsSubscribed(dev)
			return
		}
	}
}

func peerCert(cl *mqtt.Client) *x509.Certificate {
	tc, ok := cl.Net.Conn.(*tls.Conn)
	if !ok {
		return nil
	}
	st := tc.ConnectionState()
	if len(st.VerifiedChains) == 0 || len(st.PeerCertificates) == 0 {
		return nil
	}
	return st.PeerCertificates[0]
}

func (h *authHook) OnConnectAuthenticate(cl *mqtt.Client, pk packets.Packet) bool {
	user, pass := string(pk.Connect.Username), pk.Connect.Password
	log := h.cfg.Logger.With(slog.String("client_id", cl.ID), slog.String("remote", cl.Net.Remote))
	if user == ServiceUser {
		ok := subtle.ConstantTimeCompare(pass, h.cfg.ServicePassword) == 1
		if !ok {
			log.Warn("mqtt service login refused")
		}
		return ok
	}
	if err := proto.ValidDeviceID(cl.ID); err != nil {
		log.Warn("mqtt connect refused: client id is not a device id")
		return false
	}
	cert := peerCert(cl)
	if cert != nil {
		pass = nil
	} else if user != cl.ID {
		log.Warn("mqtt connect refused: username is not the client id")
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.cfg.Devices.AuthenticateDevice(ctx, cl.ID, pass, cert); err != nil {
		log.Warn("mqtt connect refused", slog.String("device_id", cl.ID), slog.String("err", err.Error()))
		return false
	}
	return true
}

func (h *authHook) OnACLCheck(cl *mqtt.Client, topic string, write bool) bool {
	if cl.Net.Inline || string(cl.Properties.Username) == ServiceUser {
		return true
	}
	return DeviceMay(cl.ID, topic, write)
}

// DeviceMay is the ACL of device id: publish (write) its status, sessions,
// commands/resp and telemetry; subscribe (read) its acks and commands.
// Filters with wildcards are refused.
func DeviceMay(id, topic string, write bool) bool {
	dev, kind, err := proto.ParseTopic(topic)
	if err != nil || dev != id {
		return false
	}
	if write {
		switch kind {
		case proto.TopicStatus, proto.TopicSessions, proto.TopicCommandsResp, proto.TopicTelemetry:
			return true
		}
		return false
	}
	return kind == proto.TopicAcks || kind == proto.TopicCommands
}
