package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"text/template"
	"time"

	"livegate.dev/board"
	"livegate.dev/firmware/config"
	fsync "livegate.dev/firmware/sync"
)

// enrollTokenEnv holds the one-time enrollment token for enroll (never a
// flag: flags show in ps and shell history).
const enrollTokenEnv = "LIVEGATE_ENROLL_TOKEN"

// unitConfig is the config file of the systemd unit (firmware/deploy).
const unitConfig = "/etc/livegate/kiosk.yaml"

// enrollOpts are enroll's inputs.
type enrollOpts struct {
	cloud, board, configPath, dataDir, credsDir, auth, cloudCA, techListen string
	modelsDir, ortLibrary                                                  string
	force                                                                  bool
	token                                                                  string
	// owner, when set, gets what enroll writes (the daemon's user).
	owner *user.User
}

// cmdEnroll exchanges a one-time enrollment token at the cloud for this
// device's MQTT credentials and the device CA (POST /api/v1/devices/enroll,
// docs/proto.md), saves them, and writes a config file the daemon starts
// from. Everything that can be checked locally is checked before the
// token, which works once, is spent.
func cmdEnroll(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("enroll", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o enrollOpts
	fs.StringVar(&o.cloud, "cloud", "", "the cloud's base URL, e.g. https://cloud.example.com (required)")
	fs.StringVar(&o.board, "board", "", "board profile: "+strings.Join(board.Names(), ", ")+" (required)")
	fs.StringVar(&o.configPath, "config", unitConfig, "config file to write")
	fs.StringVar(&o.dataDir, "data", "/var/lib/livegate", "the kiosk's data directory (outbox; credentials in <data>/creds)")
	fs.StringVar(&o.credsDir, "credentials", "", "credentials directory (default <data>/creds)")
	fs.StringVar(&o.auth, "auth", "certificate", "MQTT credential: certificate (a key made here, mutual TLS; preferred) or password")
	fs.StringVar(&o.cloudCA, "cloud-ca", "", "PEM CA to trust for the cloud's HTTPS certificate, on top of the system roots")
	fs.StringVar(&o.techListen, "technician-listen", config.Default().Technician.Listen, "technician view address written to the config")
	fs.StringVar(&o.modelsDir, "models-dir", "", "models.dir to write: where the board keeps the .onnx files (default: the model cache)")
	fs.StringVar(&o.ortLibrary, "ort-library", "", "models.ort_library to write: the board's libonnxruntime.so.1 (default: the cache's)")
	owner := fs.String("owner", "", "user the daemon runs as (the systemd unit's: livegate); the config, the data directory and the credentials are given to it (needs root)")
	fs.BoolVar(&o.force, "force", false, "replace an existing config file and credentials")
	tokenFile := fs.String("token-file", "", "read the enrollment token from this file ('-': stdin) instead of "+enrollTokenEnv)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: %s=TOKEN livegate-kiosk enroll --cloud URL --board NAME [flags]\n", enrollTokenEnv)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("enroll: unexpected argument %q (the token goes in %s or --token-file)", fs.Arg(0), enrollTokenEnv)}
	}
	switch {
	case o.cloud == "":
		return usageError{errors.New("enroll: --cloud is required (the cloud's base URL)")}
	case o.board == "":
		return usageError{fmt.Errorf("enroll: --board is required (%s)", strings.Join(board.Names(), ", "))}
	case o.auth != "certificate" && o.auth != "password":
		return usageError{fmt.Errorf("enroll: --auth %q is not certificate or password", o.auth)}
	}
	if *owner != "" {
		u, err := user.Lookup(*owner)
		if err != nil {
			return fmt.Errorf("enroll: --owner: %w", err)
		}
		if os.Geteuid() != 0 {
			return fmt.Errorf("enroll: --owner %s: giving files to another user needs root", *owner)
		}
		o.owner = u
	}
	tok, err := enrollToken(*tokenFile, stdin, getenv)
	if err != nil {
		return err
	}
	o.token = tok
	if o.credsDir == "" {
		o.credsDir = filepath.Join(o.dataDir, "creds")
	}
	// The daemon may start from any directory: the config names absolute paths.
	for _, p := range []*string{&o.configPath, &o.dataDir, &o.credsDir, &o.modelsDir, &o.ortLibrary} {
		if *p == "" {
			continue
		}
		if *p, err = filepath.Abs(*p); err != nil {
			return fmt.Errorf("enroll: %w", err)
		}
	}
	return enroll(ctx, o, stdout)
}

func enrollToken(file string, stdin io.Reader, getenv func(string) string) (string, error) {
	var tok string
	switch file {
	case "":
		tok = getenv(enrollTokenEnv)
		if tok == "" {
			return "", usageError{fmt.Errorf("enroll: no enrollment token: set %s (or give --token-file); the cloud's admin creates one with POST /admin/v1/devices/enrollments", enrollTokenEnv)}
		}
	case "-":
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && err != io.EOF {
			return "", fmt.Errorf("enroll: reading the token from stdin: %w", err)
		}
		tok = line
	default:
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("enroll: --token-file: %w", err)
		}
		tok = string(b)
	}
	tok = strings.TrimSpace(tok)
	if tok == "" {
		return "", fmt.Errorf("enroll: the enrollment token is empty")
	}
	return tok, nil
}

// enrollURL checks the cloud's base URL and returns its enrollment route.
// The token (and a password) must not cross a network in clear: http://
// is accepted for a loopback host only.
func enrollURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("enroll: --cloud %q: %w", raw, err)
	}
	if u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return "", fmt.Errorf("enroll: --cloud %q: want the cloud's base URL, https://host[:port]", raw)
	}
	if u.Scheme == "http" && !loopbackHost(u.Hostname()) {
		return "", fmt.Errorf("enroll: --cloud %q: http:// would send the enrollment token in clear; use https:// (http:// only to this machine: 127.0.0.1, ::1, localhost)", raw)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("enroll: --cloud %q: want the base URL only, without user, query or fragment", raw)
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/api/v1/devices/enroll"
	return u.String(), nil
}

func loopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

func enrollClient(caFile string) (*http.Client, error) {
	t := http.DefaultTransport.(*http.Transport).Clone()
	if caFile != "" {
		b, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("enroll: --cloud-ca: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(b) {
			return nil, fmt.Errorf("enroll: --cloud-ca %s: no PEM certificate", caFile)
		}
		t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Transport: t, Timeout: 30 * time.Second}, nil
}

func enroll(ctx context.Context, o enrollOpts, stdout io.Writer) error {
	// Local checks first: a refusal here leaves the token unspent.
	u, err := enrollURL(o.cloud)
	if err != nil {
		return err
	}
	if _, err := board.Load(board.Config{Board: o.board}); err != nil {
		return fmt.Errorf("enroll: --board: %w", err)
	}
	if o.modelsDir != "" {
		if fi, err := os.Stat(o.modelsDir); err != nil || !fi.IsDir() {
			return fmt.Errorf("enroll: --models-dir %s is not a directory (copy the .onnx files there first)", o.modelsDir)
		}
	}
	if o.ortLibrary != "" {
		if _, err := os.Stat(o.ortLibrary); err != nil {
			return fmt.Errorf("enroll: --ort-library: %w", err)
		}
	}
	if !o.force {
		if _, err := os.Stat(o.configPath); err == nil {
			return fmt.Errorf("enroll: %s exists; not overwriting it (--force replaces it and the credentials)", o.configPath)
		}
		if _, err := os.Stat(filepath.Join(o.credsDir, "device.json")); err == nil {
			return fmt.Errorf("enroll: %s already holds credentials; not overwriting them (--force replaces them)", o.credsDir)
		}
	}
	hc, err := enrollClient(o.cloudCA)
	if err != nil {
		return err
	}
	for _, d := range []string{filepath.Dir(o.configPath), o.credsDir, o.dataDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return fmt.Errorf("enroll: %w", err)
		}
	}
	// A draft with a placeholder id proves the config is valid before
	// the token is spent.
	if _, err := config.Parse(renderConfig(o, "not-enrolled-yet"), nil); err != nil {
		return fmt.Errorf("enroll: the config would not load: %w", err)
	}

	cr, err := fsync.Enroll(ctx, hc, u, o.token, o.auth == "certificate")
	if err != nil {
		return enrollFailure(o.cloud, u, err)
	}
	if o.force {
		// A replaced credential of the other kind (a key and certificate
		// after a password, or the reverse) must not linger beside the new one.
		for _, name := range []string{"device.json", "device.key", "device.crt", "ca.crt"} {
			if err := os.Remove(filepath.Join(o.credsDir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("enroll: device %s enrolled, but the old credentials could not be removed (ask for a new token, then enroll again): %w", cr.DeviceID, err)
			}
		}
	}
	if err := fsync.SaveCredentials(o.credsDir, cr); err != nil {
		return fmt.Errorf("enroll: device %s enrolled, but its credentials could not be saved (ask for a new token, then enroll again): %w", cr.DeviceID, err)
	}
	if err := config.WriteFile(o.configPath, renderConfig(o, cr.DeviceID)); err != nil {
		return fmt.Errorf("enroll: device %s enrolled and its credentials saved in %s, but the config was not written: %w", cr.DeviceID, o.credsDir, err)
	}
	if o.owner != nil {
		if err := giveTo(o.owner, o.configPath, o.dataDir, o.credsDir); err != nil {
			return fmt.Errorf("enroll: device %s enrolled, files written, but not given to %s: %w", cr.DeviceID, o.owner.Username, err)
		}
	}

	kind := "client certificate (mutual TLS)"
	files := "device.json, device.key, device.crt"
	if o.auth == "password" {
		kind, files = "password", "device.json"
	}
	if len(cr.CAPEM) > 0 {
		files += ", ca.crt"
	}
	fmt.Fprintf(stdout, "enrolled device %s at %s with a %s\n", cr.DeviceID, o.cloud, kind)
	fmt.Fprintf(stdout, "wrote %s: %s (directory 0700, files 0600)\n", o.credsDir, files)
	fmt.Fprintf(stdout, "wrote %s (board %s, outbox %s, technician view %s)\n", o.configPath, o.board, filepath.Join(o.dataDir, "outbox.db"), o.techListen)
	if o.owner != nil {
		fmt.Fprintf(stdout, "owner of the config, %s and %s: %s\n", o.dataDir, o.credsDir, o.owner.Username)
	}
	if cr.BrokerURL == "" {
		fmt.Fprintf(stdout, "warning: the cloud named no MQTT broker; set cloud.broker in %s\n", o.configPath)
	} else {
		fmt.Fprintf(stdout, "MQTT broker: %s\n", cr.BrokerURL)
	}
	if o.configPath == unitConfig {
		fmt.Fprintf(stdout, "next: livegate-kiosk run --config %s   (as the systemd service: systemctl enable --now livegate-kiosk)\n", o.configPath)
	} else {
		fmt.Fprintf(stdout, "next: livegate-kiosk run --config %s\n", o.configPath)
	}
	return nil
}

// giveTo chowns the config file, the data directory and the credentials
// directory with its files to u (modes are kept: 0600 files, 0700
// directories).
func giveTo(u *user.User, configPath, dataDir, credsDir string) error {
	uid, err := strconv.Atoi(u.Uid)
	if err != nil {
		return err
	}
	gid, err := strconv.Atoi(u.Gid)
	if err != nil {
		return err
	}
	paths := []string{configPath, dataDir, credsDir}
	files, err := os.ReadDir(credsDir)
	if err != nil {
		return err
	}
	for _, f := range files {
		paths = append(paths, filepath.Join(credsDir, f.Name()))
	}
	for _, p := range paths {
		if err := os.Lchown(p, uid, gid); err != nil {
			return err
		}
	}
	return nil
}

// enrollFailure says why the cloud did not enroll the device, and what to
// do about it.
func enrollFailure(cloud, u string, err error) error {
	var ee *fsync.EnrollError
	var ue *url.Error
	switch {
	case errors.As(err, &ee) && ee.StatusCode == http.StatusUnauthorized:
		return fmt.Errorf("enroll: the cloud at %s refused the enrollment token: it is unknown, already used or expired "+
			"(ask the cloud's admin for a new one: POST /admin/v1/devices/enrollments)", cloud)
	case errors.As(err, &ee) && (ee.StatusCode == http.StatusNotFound || ee.StatusCode == http.StatusMethodNotAllowed):
		return fmt.Errorf("enroll: %s answered HTTP %d: not a livegate cloud, or its device fleet is off (livegate-cloud serve --mqtt-addr …)", u, ee.StatusCode)
	case errors.As(err, &ee):
		return fmt.Errorf("enroll: the cloud at %s refused the enrollment: %w", cloud, err)
	case errors.As(err, &ue):
		var ca x509.UnknownAuthorityError
		if errors.As(err, &ca) {
			return fmt.Errorf("enroll: the cloud's certificate at %s is not trusted (give its CA with --cloud-ca): %w", cloud, ue.Err)
		}
		return fmt.Errorf("enroll: cannot reach the cloud at %s (check the URL and the network): %w", cloud, ue.Err)
	}
	return fmt.Errorf("enroll: %w (is %s a livegate cloud?)", err, cloud)
}

var configTmpl = template.Must(template.New("config").Parse(`# livegate-kiosk configuration, written by ` + "`livegate-kiosk enroll`" + ` on {{.At}}
# for device {{.DeviceID}} of the cloud at {{.Cloud}}.
# Every key is in docs/kiosk.md (Configuration); check it with
#   livegate-kiosk check-config --config {{.Path}}
device_id: {{.ID}}
board:
  board: {{.Board}}
store:
  path: {{.Store}}
cloud:
  # The broker URL, this device's MQTT credentials and the device CA
  # (written by enroll: directory 0700, files 0600).
  credentials_dir: {{.Creds}}
technician:
  listen: {{.Tech}}
  # A credential for the test buttons (and, on sim, walkup): user, and password_hash
  # from: echo 'PASSWORD' | livegate-kiosk hash-password
{{- if or .Models .ORT}}
models:
{{- if .Models}}
  dir: {{.Models}}
{{- end}}
{{- if .ORT}}
  ort_library: {{.ORT}}
{{- end}}
{{- end}}
log_level: info
`))

func renderConfig(o enrollOpts, deviceID string) []byte {
	var b strings.Builder
	q := func(s string) string { return fmt.Sprintf("%q", s) } // YAML accepts JSON strings
	data := map[string]string{
		"At": time.Now().UTC().Format(time.RFC3339), "DeviceID": deviceID, "ID": q(deviceID), "Cloud": o.cloud, "Path": o.configPath,
		"Board": q(o.board), "Store": q(filepath.Join(o.dataDir, "outbox.db")), "Creds": q(o.credsDir), "Tech": q(o.techListen),
		"Models": "", "ORT": "",
	}
	if o.modelsDir != "" {
		data["Models"] = q(o.modelsDir)
	}
	if o.ortLibrary != "" {
		data["ORT"] = q(o.ortLibrary)
	}
	configTmpl.Execute(&b, data)
	return []byte(b.String())
}
