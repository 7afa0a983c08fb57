package mqtttest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"livegate.dev/cloud/internal/fleet/broker"
)

// Config configures a test broker.
type Config struct {
	// Users are username → password (password mode). The service user
	// broker.ServiceUser should be among them.
	Users map[string]string
	// CA, Cert and Key (PEM) turn on mutual TLS: CA verifies client
	// certificates (use_identity_as_username), Cert/Key are the server's.
	CA, Cert, Key []byte
	// MaxQueuedMessages. Optional. Default: 20000.
	MaxQueuedMessages int
}

// Mosquitto is a running (or killed) test broker.
type Mosquitto struct {
	dir  string
	port int
	tls  bool

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	log  *lockedBuffer
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Binary is the mosquitto executable used.
var Binary = "/usr/sbin/mosquitto"

// Available reports whether Mosquitto is installed.
func Available() bool {
	_, err := os.Stat(Binary)
	return err == nil
}

// Start starts a broker for tb and stops it (removing its files) at cleanup.
// It skips tb when Mosquitto is not installed.
func Start(tb testing.TB, cfg Config) *Mosquitto {
	tb.Helper()
	if !Available() {
		tb.Skipf("mqtttest: %s not installed", Binary)
	}
	m, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { m.Close() })
	if err := m.Restart(); err != nil {
		tb.Fatal(err)
	}
	return m
}

// New writes the broker's files in a new temporary directory; Restart
// starts it. The caller must call Close.
func New(cfg Config) (*Mosquitto, error) {
	dir, err := os.MkdirTemp("", "livegate-mosquitto-")
	if err != nil {
		return nil, fmt.Errorf("mqtttest: temp dir: %w", err)
	}
	m := &Mosquitto{dir: dir, tls: cfg.CA != nil}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(dir)
		}
	}()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("mqtttest: free port: %w", err)
	}
	m.port = l.Addr().(*net.TCPAddr).Port
	l.Close()
	o := broker.MosquittoOptions{Port: m.port, PersistenceDir: filepath.Join(dir, "data"),
		ACLFile: filepath.Join(dir, "acl"), MaxQueuedMessages: cfg.MaxQueuedMessages}
	if err := os.Mkdir(o.PersistenceDir, 0o700); err != nil {
		return nil, err
	}
	files := map[string][]byte{"acl": []byte(broker.MosquittoACL(broker.ServiceUser))}
	if len(cfg.Users) > 0 {
		o.PasswordFile = filepath.Join(dir, "passwd")
		var lines []string
		for u, p := range cfg.Users {
			lines = append(lines, u+":"+p)
		}
		sort.Strings(lines)
		files["passwd"] = []byte(strings.Join(lines, "\n") + "\n")
	}
	if cfg.CA != nil {
		o.CAFile, o.CertFile, o.KeyFile = filepath.Join(dir, "ca.crt"), filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key")
		files["ca.crt"], files["server.crt"], files["server.key"] = cfg.CA, cfg.Cert, cfg.Key
	}
	files["mosquitto.conf"] = []byte(broker.MosquittoConf(o))
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			return nil, fmt.Errorf("mqtttest: write %s: %w", name, err)
		}
	}
	if o.PasswordFile != "" {
		// Hash the plain-text file in place.
		if out, err := exec.Command("mosquitto_passwd", "-U", o.PasswordFile).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("mqtttest: mosquitto_passwd -U: %w\n%s", err, out)
		}
	}
	if os.Geteuid() == 0 {
		if err := giveToMosquitto(dir); err != nil {
			return nil, err
		}
	}
	ok = true
	return m, nil
}

// giveToMosquitto chowns dir's tree to the mosquitto user and lets it enter
// every parent directory.
func giveToMosquitto(dir string) error {
	u, err := user.Lookup("mosquitto")
	if err != nil {
		return nil // Mosquitto then keeps running as root
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	err = filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Chown(p, uid, gid)
	})
	if err != nil {
		return fmt.Errorf("mqtttest: chown %s: %w", dir, err)
	}
	for d := filepath.Dir(dir); d != filepath.Dir(d); d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return fmt.Errorf("mqtttest: %w", err)
		}
		if fi.Mode().Perm()&0o001 == 0 {
			if err := os.Chmod(d, fi.Mode().Perm()|0o001); err != nil {
				return fmt.Errorf("mqtttest: let mosquitto enter %s: %w", d, err)
			}
		}
	}
	return nil
}

// URL is the broker's URL (tcp:// or ssl://).
func (m *Mosquitto) URL() string {
	if m.tls {
		return fmt.Sprintf("ssl://127.0.0.1:%d", m.port)
	}
	return fmt.Sprintf("tcp://127.0.0.1:%d", m.port)
}

// Addr is host:port.
func (m *Mosquitto) Addr() string { return fmt.Sprintf("127.0.0.1:%d", m.port) }

// Dir is the broker's directory (config, ACL, persistence).
func (m *Mosquitto) Dir() string { return m.dir }

// Restart starts the broker (again, on the same port) and waits until it
// accepts connections.
func (m *Mosquitto) Restart() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cmd != nil {
		return errors.New("mqtttest: broker already running")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var lastErr error
	for ctx.Err() == nil {
		log := &lockedBuffer{}
		cmd := exec.Command(Binary, "-c", filepath.Join(m.dir, "mosquitto.conf"))
		cmd.Stdout, cmd.Stderr = log, log
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("mqtttest: start mosquitto: %w", err)
		}
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		for {
			c, err := net.DialTimeout("tcp", m.Addr(), time.Second)
			if err == nil {
				c.Close()
				m.cmd, m.done, m.log = cmd, done, log
				return nil
			}
			select {
			case <-done:
				// Exited: the port may still be in TIME_WAIT after a kill; retry.
				lastErr = fmt.Errorf("mqtttest: mosquitto exited: %s", log.String())
			case <-ctx.Done():
				cmd.Process.Kill()
				<-done
				return fmt.Errorf("mqtttest: mosquitto did not listen on %s: %s", m.Addr(), log.String())
			case <-time.After(20 * time.Millisecond):
				continue
			}
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
	return lastErr
}

// Kill stops the broker with SIGKILL (no clean shutdown, no final save).
func (m *Mosquitto) Kill() error { return m.stop(syscall.SIGKILL) }

// Stop stops the broker with SIGTERM.
func (m *Mosquitto) Stop() error { return m.stop(syscall.SIGTERM) }

func (m *Mosquitto) stop(sig syscall.Signal) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cmd == nil {
		return nil
	}
	if err := m.cmd.Process.Signal(sig); err != nil {
		return fmt.Errorf("mqtttest: signal mosquitto: %w", err)
	}
	<-m.done
	m.cmd = nil
	return nil
}

// Log returns the running (or last) broker's output.
func (m *Mosquitto) Log() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.log == nil {
		return ""
	}
	return m.log.String()
}

// Close stops the broker and removes its files.
func (m *Mosquitto) Close() error {
	err := m.Stop()
	os.RemoveAll(m.dir)
	return err
}
