package broker

import (
	"fmt"
	"strings"

	"livegate.dev/proto"
)

// MosquittoACL is the acl_file of an external Mosquitto broker: the service
// user reads and writes every device topic; each device (username = device
// id, or its certificate's CN with use_identity_as_username) only its own.
func MosquittoACL(serviceUser string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# livegate device ACL (generated)\nuser %s\ntopic readwrite %s/#\n\n", serviceUser, proto.Root)
	for _, k := range []string{proto.TopicStatus, proto.TopicSessions, proto.TopicCommandsResp, proto.TopicTelemetry} {
		fmt.Fprintf(&b, "pattern write %s/%%u/%s\n", proto.Root, k)
	}
	for _, k := range []string{proto.TopicAcks, proto.TopicCommands} {
		fmt.Fprintf(&b, "pattern read %s/%%u/%s\n", proto.Root, k)
	}
	return b.String()
}

// MosquittoOptions are the settings of a generated mosquitto.conf.
type MosquittoOptions struct {
	Port                int
	Bind                string // default 127.0.0.1
	PersistenceDir      string // "" disables persistence
	PasswordFile        string // per-device passwords (mosquitto_passwd format)
	ACLFile             string
	CAFile              string // mutual TLS: the device CA
	CertFile, KeyFile   string // the broker's server certificate
	MaxQueuedMessages   int    // default 20000
	MaxInflightMessages int    // default 100
	LogFile             string // default stderr
}

// MosquittoConf renders a mosquitto.conf for livegate. It sets
// max_queued_messages deliberately: Mosquitto's default of 1000 drops QoS 1
// messages to an offline persistent session silently once exceeded.
func MosquittoConf(o MosquittoOptions) string {
	if o.Bind == "" {
		o.Bind = "127.0.0.1"
	}
	if o.MaxQueuedMessages == 0 {
		o.MaxQueuedMessages = 20000
	}
	if o.MaxInflightMessages == 0 {
		o.MaxInflightMessages = 100
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# livegate mosquitto.conf (generated)\nper_listener_settings false\nallow_anonymous false\n")
	fmt.Fprintf(&b, "max_queued_messages %d\nmax_queued_bytes 0\nmax_inflight_messages %d\n", o.MaxQueuedMessages, o.MaxInflightMessages)
	fmt.Fprintf(&b, "persistent_client_expiration 14d\nmax_keepalive 300\nset_tcp_nodelay true\n")
	if o.PersistenceDir != "" {
		fmt.Fprintf(&b, "persistence true\npersistence_location %s/\nautosave_interval 1\n", strings.TrimRight(o.PersistenceDir, "/"))
	} else {
		b.WriteString("persistence false\n")
	}
	if o.LogFile != "" {
		fmt.Fprintf(&b, "log_dest file %s\n", o.LogFile)
	} else {
		b.WriteString("log_dest stderr\n")
	}
	b.WriteString("log_type error\nlog_type warning\nlog_type notice\n")
	if o.ACLFile != "" {
		fmt.Fprintf(&b, "acl_file %s\n", o.ACLFile)
	}
	if o.PasswordFile != "" {
		fmt.Fprintf(&b, "password_file %s\n", o.PasswordFile)
	}
	fmt.Fprintf(&b, "listener %d %s\n", o.Port, o.Bind)
	if o.CAFile != "" {
		fmt.Fprintf(&b, "cafile %s\ncertfile %s\nkeyfile %s\nrequire_certificate true\nuse_identity_as_username true\n", o.CAFile, o.CertFile, o.KeyFile)
	}
	return b.String()
}
