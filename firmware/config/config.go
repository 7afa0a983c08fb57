package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"livegate.dev/board"
)

// EnvPrefix starts every environment override.
const EnvPrefix = "LIVEGATE_KIOSK_"

// Config is the whole kiosk configuration.
type Config struct {
	// DeviceID names this kiosk in session ids and to the cloud. Optional.
	// Default: the host name.
	DeviceID string `yaml:"device_id"`
	// Board selects the board profile and overrides its parts. board.board
	// is required.
	Board board.Config `yaml:"board"`
	// Session tunes the liveness session.
	Session Session `yaml:"session"`
	// RelayPulse is how long the relay is energised on a pass (clipped by
	// the board's relay.max_on). Optional. Default: 1.5s.
	RelayPulse time.Duration `yaml:"relay_pulse"`
	// CoolDown is the pause after a verdict before the next session.
	// Optional. Default: 3s.
	CoolDown time.Duration `yaml:"cool_down"`
	// Store is the local session store (the bbolt outbox).
	Store Store `yaml:"store"`
	// Recordings keeps replayable recordings of the last sessions for a
	// technician (docs/kiosk.md). Optional: off unless recordings.dir is
	// set.
	Recordings Recordings `yaml:"recordings"`
	// Models locates the liveness models.
	Models Models `yaml:"models"`
	// Cloud is the MQTT link (used by the sync part).
	Cloud Cloud `yaml:"cloud"`
	// Technician is the local technician view.
	Technician Technician `yaml:"technician"`
	// OTA is the update agent (firmware/update). Optional: without
	// ota.dir the kiosk takes no updates.
	OTA OTA `yaml:"ota"`
	// LogLevel is debug, info, warn or error. Optional. Default: info.
	LogLevel string `yaml:"log_level"`
}

// Session tunes one walk-up session.
type Session struct {
	// Mode is "passive" (hold still under the LED light challenge) or
	// "active" (also blink/turn/smile challenges). Optional. Default: passive.
	Mode string `yaml:"mode"`
	// PassThreshold and RetryThreshold map confidence to pass/retry/fail.
	// Optional. Default: 0.70 and 0.45.
	PassThreshold  float64 `yaml:"pass_threshold"`
	RetryThreshold float64 `yaml:"retry_threshold"`
	// LightStep is the duration of one LED step. Optional. Default: 400ms.
	LightStep time.Duration `yaml:"light_step"`
	// MaxDuration bounds a session. Optional. Default: 20s.
	MaxDuration time.Duration `yaml:"max_duration"`
	// GuideTimeout is how long the kiosk waits for a face after presence
	// before giving up. Optional. Default: 10s.
	GuideTimeout time.Duration `yaml:"guide_timeout"`
	// AuditFrames is how many audit JPEGs (0–4) each session keeps.
	// Optional. Default: 4.
	AuditFrames *int `yaml:"audit_frames"`
}

// Store is the local bbolt store of decided sessions.
type Store struct {
	// Path of the bbolt file. Optional. Default: /var/lib/livegate/outbox.db.
	Path string `yaml:"path"`
	// MaxEntries and MaxBytes bound it; when full the kiosk refuses new
	// sessions. Optional. Default: 50000 and 256 MiB.
	MaxEntries int   `yaml:"max_entries"`
	MaxBytes   int64 `yaml:"max_bytes"`
}

// Recordings keeps a recording (livegate.dev/models/replay) of each of the
// last committed sessions: every frame as the engine judged it, so that
// `livegate-face replay FILE` gives the kiosk's verdict again.
type Recordings struct {
	// Dir holds them as <session id>.lgr (0600 files in a 0700 directory,
	// not encrypted). Optional. Default: "" (no recordings). Example:
	// /var/lib/livegate/recordings.
	Dir string `yaml:"dir"`
	// Keep is how many of the latest sessions are kept. Optional.
	// Default: 5.
	Keep int `yaml:"keep"`
	// MaxBytes caps the directory: the oldest recordings are removed to
	// make room, and a session whose recording alone is larger is not
	// kept. Frames are kept losslessly (0.1–0.16 MB a frame on the
	// 640×480 test clips, 5–10 MB a session). Optional. Default: 256 MiB.
	MaxBytes int64 `yaml:"max_bytes"`
}

// Models locates the liveness models and ONNX Runtime.
type Models struct {
	// Dir holds the .onnx files. Optional. Default: the model cache.
	Dir string `yaml:"dir"`
	// ORTLibrary is the ONNX Runtime shared library. Optional. Default:
	// the engine's search (LIVEGATE_ORT_LIB, the cache).
	ORTLibrary string `yaml:"ort_library"`
}

// Cloud is the MQTT connection to the cloud.
type Cloud struct {
	// Broker URL (tcp://, ssl://, ws://). Optional: empty runs offline,
	// results stay in the store.
	Broker string `yaml:"broker"`
	// Username and PasswordFile for password auth; CertFile/KeyFile for a
	// client certificate; CAFile to trust the broker. Optional.
	Username     string `yaml:"username"`
	PasswordFile string `yaml:"password_file"`
	CAFile       string `yaml:"ca_file"`
	CertFile     string `yaml:"cert_file"`
	KeyFile      string `yaml:"key_file"`
	// CredentialsDir keeps enrolled credentials. Optional.
	CredentialsDir string `yaml:"credentials_dir"`
	// AckTimeout before unacknowledged results are published again.
	// Optional. Default: 30s.
	AckTimeout time.Duration `yaml:"ack_timeout"`
}

// OTA configures the update agent and the A/B slots it installs into.
type OTA struct {
	// Dir keeps the agent's pending-report file and downloads. Optional:
	// empty disables updates. Example: /var/lib/livegate/ota.
	Dir string `yaml:"dir"`
	// Layout is how the firmware slots are kept: "sim" (two directories
	// and a pointer file under firmware_slots) or "uboot" (two rootfs
	// partitions and U-Boot variables; firmware_slots holds the state
	// file and the slots' manifests, on a partition no install
	// overwrites). Models packs always use sim under models_slots.
	// Optional. Default: sim.
	Layout string `yaml:"layout"`
	// FirmwareSlots is the root of the firmware slots and boot
	// environment (sim: directories and a pointer file; uboot: the state
	// directory). Required with dir.
	FirmwareSlots string `yaml:"firmware_slots"`
	// Partitions are the rootfs partitions of slots A and B (e.g.
	// /dev/mmcblk0p2 and /dev/mmcblk0p3). Required with layout uboot;
	// only with it.
	Partitions Partitions `yaml:"partitions"`
	// FwEnvConfig is the fw_env.config that fw_printenv and fw_setenv
	// read (passed as -c). Optional, layout uboot only. Default: the
	// tools' own (/etc/fw_env.config).
	FwEnvConfig string `yaml:"fw_env_config"`
	// FwPrintenv and FwSetenv are libubootenv's tools. Optional, layout
	// uboot only. Default: fw_printenv and fw_setenv from PATH.
	FwPrintenv string `yaml:"fw_printenv"`
	FwSetenv   string `yaml:"fw_setenv"`
	// ModelsSlots is the root of the models-pack slots; when set the
	// engine loads its models from the active slot (models.dir is then
	// ignored) and the kiosk takes models updates. Optional.
	ModelsSlots string `yaml:"models_slots"`
	// RootsFile holds the trusted OTA root public keys (PEM, from
	// livegate-ota keygen root). Required with dir.
	RootsFile string `yaml:"roots_file"`
	// RevocationFile keeps the newest signing-key revocation list seen.
	// Optional. Default: dir/revocations.json.
	RevocationFile string `yaml:"revocation_file"`
	// CAFile is a PEM CA to trust for the HTTPS release downloads, on top
	// of the system roots. Optional.
	CAFile string `yaml:"ca_file"`
	// FactoryFirmware is the signed factory image (an artifact from
	// livegate-ota sign) installed into slot A of the firmware slots at
	// the first start, when they hold nothing yet. Layout sim only (a
	// U-Boot board's partitions are flashed at the factory). Optional:
	// without it empty slots are an error (or provision them with
	// livegate-ota sim provision).
	FactoryFirmware string `yaml:"factory_firmware"`
	// FactoryModels is the same for the models slots: a signed models
	// pack installed into slot A when they hold nothing yet. Optional;
	// only with models_slots.
	FactoryModels string `yaml:"factory_models"`
	// Restart is how the kiosk restarts into a new slot: "exit" (the
	// process exits with status 3 and its supervisor starts it again; the
	// sim board) or "reboot" (systemctl reboot). Optional. Default: exit
	// on sim, reboot on other boards.
	Restart string `yaml:"restart"`
	// Watchdog bounds the health check of a new version. Optional.
	// Default: 5m.
	Watchdog time.Duration `yaml:"watchdog"`
	// CloudTimeout is how long the health check waits for the cloud
	// connection (when a broker is configured). Optional. Default: 2m.
	CloudTimeout time.Duration `yaml:"cloud_timeout"`
	// MaxAttempts is how many boots a new version gets to pass its health
	// check. Optional. Default: 3.
	MaxAttempts int `yaml:"max_attempts"`
}

// OTA layouts (OTA.Layout).
const (
	LayoutSim   = "sim"
	LayoutUBoot = "uboot"
)

// MaxUBootAttempts bounds ota.max_attempts with layout uboot: it is the
// bootloader's bootlimit, which the boot script keeps to one hex digit
// (install.MaxUBootBootLimit).
const MaxUBootAttempts = 8

// Partitions are the rootfs partitions of the two firmware slots.
type Partitions struct {
	A string `yaml:"a"`
	B string `yaml:"b"`
}

// Technician is the local status page.
type Technician struct {
	// Listen is the technician view's address. Optional. Default:
	// 127.0.0.1:8090; "" or "off" disables it.
	Listen string `yaml:"listen"`
	// User and PasswordHash (from `livegate-kiosk hash-password`) guard the
	// LED and relay test buttons; without them the buttons are disabled.
	User         string `yaml:"user"`
	PasswordHash string `yaml:"password_hash"`
	// HealthListen serves only /healthz (for a local supervisor).
	// Optional. Default: "" (health is on the technician listener).
	HealthListen string `yaml:"health_listen"`
}

// Default returns the configuration used for absent keys.
func Default() Config {
	four := 4
	return Config{
		Session: Session{
			Mode: "passive", PassThreshold: 0.70, RetryThreshold: 0.45,
			LightStep: 400 * time.Millisecond, MaxDuration: 20 * time.Second,
			GuideTimeout: 10 * time.Second, AuditFrames: &four,
		},
		RelayPulse: 1500 * time.Millisecond,
		CoolDown:   3 * time.Second,
		Store:      Store{Path: "/var/lib/livegate/outbox.db", MaxEntries: 50000, MaxBytes: 256 << 20},
		Recordings: Recordings{Keep: 5, MaxBytes: 256 << 20},
		Cloud:      Cloud{AckTimeout: 30 * time.Second},
		Technician: Technician{Listen: "127.0.0.1:8090"},
		OTA:        OTA{Watchdog: 5 * time.Minute, CloudTimeout: 2 * time.Minute, MaxAttempts: 3},
		LogLevel:   "info",
	}
}

// KeyError is one invalid key.
type KeyError struct {
	Key     string // dotted path, e.g. "session.pass_threshold"
	Problem string
}

func (e *KeyError) Error() string { return e.Key + ": " + e.Problem }

// ErrInvalid wraps every validation failure.
var ErrInvalid = errors.New("config: invalid")

// Load reads path (YAML; unknown keys are errors), applies the environment
// overrides from environ (os.Environ() form) and validates.
func Load(path string, environ []string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	return Parse(data, environ)
}

// Parse is Load on bytes.
func Parse(data []byte, environ []string) (Config, error) {
	c := Default()
	if len(bytes.TrimSpace(data)) > 0 {
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(&c); err != nil {
			return Config{}, fmt.Errorf("%w: %v", ErrInvalid, err)
		}
	}
	if err := applyEnv(&c, environ); err != nil {
		return Config{}, err
	}
	if c.DeviceID == "" {
		h, _ := os.Hostname()
		c.DeviceID = h
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// Validate checks every key and returns every problem, each a *KeyError
// wrapped with ErrInvalid.
func (c Config) Validate() error {
	var errs []error
	bad := func(key, format string, a ...any) {
		errs = append(errs, &KeyError{Key: key, Problem: fmt.Sprintf(format, a...)})
	}
	if c.DeviceID == "" || strings.ContainsAny(c.DeviceID, "/#+ ") {
		bad("device_id", "%q must be non-empty without '/', '#', '+' or spaces", c.DeviceID)
	}
	if c.Board.Board == "" {
		bad("board.board", "required (one of %s)", strings.Join(board.Names(), ", "))
	} else if _, err := board.Load(c.Board); err != nil {
		var fe *board.FieldError
		if errors.As(err, &fe) || errors.Is(err, board.ErrUnknownBoard) {
			bad("board", "%v", err)
		} else {
			bad("board", "%v", err)
		}
	}
	s := c.Session
	if s.Mode != "passive" && s.Mode != "active" {
		bad("session.mode", "%q is not passive or active", s.Mode)
	}
	if !(s.PassThreshold > 0 && s.PassThreshold <= 1) {
		bad("session.pass_threshold", "%v not within (0, 1]", s.PassThreshold)
	}
	if !(s.RetryThreshold >= 0 && s.RetryThreshold <= s.PassThreshold) {
		bad("session.retry_threshold", "%v not within [0, pass_threshold]", s.RetryThreshold)
	}
	if s.LightStep < 100*time.Millisecond || s.LightStep > 5*time.Second {
		bad("session.light_step", "%s not within [100ms, 5s]", s.LightStep)
	}
	if s.MaxDuration < 2*time.Second || s.MaxDuration > 2*time.Minute {
		bad("session.max_duration", "%s not within [2s, 2m]", s.MaxDuration)
	}
	if s.GuideTimeout <= 0 || s.GuideTimeout > time.Minute {
		bad("session.guide_timeout", "%s not within (0, 1m]", s.GuideTimeout)
	}
	if s.AuditFrames == nil || *s.AuditFrames < 0 || *s.AuditFrames > 4 {
		bad("session.audit_frames", "must be within 0–4")
	}
	if c.RelayPulse <= 0 || c.RelayPulse > board.MaxRelayOn {
		bad("relay_pulse", "%s not within (0, %s]", c.RelayPulse, board.MaxRelayOn)
	}
	if c.CoolDown < 0 || c.CoolDown > 5*time.Minute {
		bad("cool_down", "%s not within [0, 5m]", c.CoolDown)
	}
	if c.Store.Path == "" {
		bad("store.path", "required")
	}
	if c.Store.MaxEntries < 1 {
		bad("store.max_entries", "%d must be positive", c.Store.MaxEntries)
	}
	if c.Store.MaxBytes < 1<<20 {
		bad("store.max_bytes", "%d is below 1 MiB", c.Store.MaxBytes)
	}
	if c.Recordings.Keep < 1 || c.Recordings.Keep > 1000 {
		bad("recordings.keep", "%d not within [1, 1000]", c.Recordings.Keep)
	}
	if c.Recordings.MaxBytes < 1<<20 {
		bad("recordings.max_bytes", "%d is below 1 MiB", c.Recordings.MaxBytes)
	}
	if d := c.Recordings.Dir; d != "" && c.Store.Path != "" && filepath.Clean(d) == filepath.Clean(filepath.Dir(c.Store.Path)) {
		bad("recordings.dir", "%s holds the outbox: use a directory of its own", d)
	}
	if b := c.Cloud.Broker; b != "" {
		ok := false
		for _, p := range []string{"tcp://", "ssl://", "tls://", "ws://", "wss://", "mqtt://", "mqtts://"} {
			ok = ok || strings.HasPrefix(b, p)
		}
		if !ok {
			bad("cloud.broker", "%q needs a scheme (tcp://, ssl://, ws://, wss://)", b)
		}
	}
	if (c.Cloud.CertFile == "") != (c.Cloud.KeyFile == "") {
		bad("cloud.cert_file", "cert_file and key_file go together")
	}
	if c.Cloud.AckTimeout <= 0 {
		bad("cloud.ack_timeout", "%s must be positive", c.Cloud.AckTimeout)
	}
	t := c.Technician
	if (t.User == "") != (t.PasswordHash == "") {
		bad("technician.password_hash", "user and password_hash go together")
	}
	if t.PasswordHash != "" {
		if _, err := parseHash(t.PasswordHash); err != nil {
			bad("technician.password_hash", "%v (make one with `livegate-kiosk hash-password`)", err)
		}
	}
	if o := c.OTA; o.Dir != "" {
		if o.FirmwareSlots == "" {
			bad("ota.firmware_slots", "required with ota.dir")
		}
		if o.RootsFile == "" {
			bad("ota.roots_file", "required with ota.dir (the trusted OTA root public keys)")
		}
		if o.FirmwareSlots != "" && o.FirmwareSlots == o.ModelsSlots {
			bad("ota.models_slots", "must differ from ota.firmware_slots")
		}
	}
	if c.OTA.FactoryModels != "" && c.OTA.ModelsSlots == "" {
		bad("ota.factory_models", "only with ota.models_slots")
	}
	switch c.OTA.Restart {
	case "", "exit", "reboot":
	default:
		bad("ota.restart", "%q is not exit or reboot", c.OTA.Restart)
	}
	c.validateLayout(bad)
	if c.OTA.Watchdog < 10*time.Second || c.OTA.Watchdog > time.Hour {
		bad("ota.watchdog", "%s not within [10s, 1h]", c.OTA.Watchdog)
	}
	if c.OTA.CloudTimeout <= 0 || c.OTA.CloudTimeout > c.OTA.Watchdog {
		bad("ota.cloud_timeout", "%s not within (0, ota.watchdog]", c.OTA.CloudTimeout)
	}
	if c.OTA.MaxAttempts < 1 || c.OTA.MaxAttempts > 10 {
		bad("ota.max_attempts", "%d not within [1, 10]", c.OTA.MaxAttempts)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("log_level", "%q is not debug, info, warn or error", c.LogLevel)
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrInvalid, errors.Join(errs...))
}

// validateLayout checks ota.layout and the keys of the U-Boot layout.
func (c Config) validateLayout(bad func(key, format string, a ...any)) {
	o := c.OTA
	switch o.Layout {
	case "", LayoutSim:
		for _, kv := range [][2]string{{"ota.partitions.a", o.Partitions.A}, {"ota.partitions.b", o.Partitions.B},
			{"ota.fw_env_config", o.FwEnvConfig}, {"ota.fw_printenv", o.FwPrintenv}, {"ota.fw_setenv", o.FwSetenv}} {
			if kv[1] != "" {
				bad(kv[0], "only with ota.layout: uboot")
			}
		}
		return
	case LayoutUBoot:
		if o.FactoryFirmware != "" {
			bad("ota.factory_firmware", "only with ota.layout: sim (a U-Boot board's rootfs partitions are flashed at the factory)")
		}
	default:
		bad("ota.layout", "%q is not sim or uboot", o.Layout)
		return
	}
	if o.Dir != "" {
		if o.Partitions.A == "" {
			bad("ota.partitions.a", "required with ota.layout: uboot (slot A's rootfs partition, e.g. /dev/mmcblk0p2)")
		}
		if o.Partitions.B == "" {
			bad("ota.partitions.b", "required with ota.layout: uboot (slot B's rootfs partition, e.g. /dev/mmcblk0p3)")
		}
	}
	if o.Partitions.A != "" && o.Partitions.A == o.Partitions.B {
		bad("ota.partitions.b", "%s is also ota.partitions.a", o.Partitions.B)
	}
	if o.MaxAttempts > MaxUBootAttempts {
		bad("ota.max_attempts", "%d above %d, the U-Boot layout's largest bootlimit", o.MaxAttempts, MaxUBootAttempts)
	}
	if o.Restart == "exit" || (o.Restart == "" && c.Board.Board == "sim") {
		bad("ota.restart", "must be reboot with ota.layout: uboot (only a reboot starts the other rootfs)")
	}
}

// Profile returns the board profile with the overrides applied.
func (c Config) Profile() (board.Profile, error) { return board.Load(c.Board) }

// EnvNames lists every environment override this package reads, sorted
// by key order.
func EnvNames() []string {
	var out []string
	walk(reflect.ValueOf(&Config{}).Elem(), nil, func(path []string, _ reflect.Value) {
		out = append(out, envName(path))
	})
	return out
}

func envName(path []string) string {
	return EnvPrefix + strings.ToUpper(strings.Join(path, "_"))
}

// applyEnv sets every leaf whose LIVEGATE_KIOSK_… variable is set; the
// value is parsed as a YAML scalar of the field's type.
func applyEnv(c *Config, environ []string) error {
	env := map[string]string{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, EnvPrefix) {
			env[k] = v
		}
	}
	if len(env) == 0 {
		return nil
	}
	known := map[string]bool{}
	var errs []error
	walk(reflect.ValueOf(c).Elem(), nil, func(path []string, v reflect.Value) {
		name := envName(path)
		known[name] = true
		s, ok := env[name]
		if !ok {
			return
		}
		target := reflect.New(v.Type())
		if err := yaml.Unmarshal([]byte(s), target.Interface()); err != nil {
			errs = append(errs, &KeyError{Key: strings.Join(path, "."), Problem: fmt.Sprintf("from %s: %v", name, err)})
			return
		}
		v.Set(target.Elem())
	})
	for k := range env {
		if !known[k] {
			errs = append(errs, &KeyError{Key: k, Problem: "unknown environment override"})
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrInvalid, errors.Join(errs...))
	}
	return nil
}

// walk calls fn for every leaf (non-struct, non-slice field) with its
// YAML key path.
func walk(v reflect.Value, path []string, fn func([]string, reflect.Value)) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := strings.Split(f.Tag.Get("yaml"), ",")[0]
		if tag == "-" || tag == "" {
			continue
		}
		fv := v.Field(i)
		p := append(append([]string(nil), path...), tag)
		switch {
		case f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeOf(time.Duration(0)):
			walk(fv, p, fn)
		case f.Type.Kind() == reflect.Slice:
			// lists (board.lights) only from the file
		default:
			fn(p, fv)
		}
	}
}
