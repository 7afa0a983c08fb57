package ubootenvtest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// Size is the size of each copy of the environment (CONFIG_ENV_SIZE).
const Size = 0x4000

// header: CRC32 (little endian) of the data area, then the flag byte of a
// redundant environment.
const header = 5

// Env is a redundant environment in two files.
type Env struct {
	Paths [2]string
	Size  int
}

// ErrNoValidCopy: neither copy has a valid CRC.
var ErrNoValidCopy = errors.New("ubootenvtest: no valid environment copy")

func (e *Env) read(i int) (vars map[string]string, flags byte, ok bool) {
	b, err := os.ReadFile(e.Paths[i])
	if err != nil || len(b) < e.Size {
		return nil, 0, false
	}
	b = b[:e.Size]
	data := b[header:]
	if binary.LittleEndian.Uint32(b) != crc32.ChecksumIEEE(data) {
		return nil, 0, false
	}
	vars = map[string]string{}
	for _, kv := range bytes.Split(data, []byte{0}) {
		if len(kv) == 0 {
			break
		}
		if k, v, ok := strings.Cut(string(kv), "="); ok {
			vars[k] = v
		}
	}
	return vars, b[4], true
}

// current picks the copy libubootenv and U-Boot read: the valid one, or
// with both valid the higher flag byte (0 after 255 counts as higher).
func (e *Env) current() (int, map[string]string, byte, error) {
	v0, f0, ok0 := e.read(0)
	v1, f1, ok1 := e.read(1)
	switch {
	case ok0 && !ok1:
		return 0, v0, f0, nil
	case ok1 && !ok0:
		return 1, v1, f1, nil
	case !ok0 && !ok1:
		return 0, nil, 0, ErrNoValidCopy
	}
	cur := 0
	if f1 > f0 {
		cur = 1
	}
	if f0 == 0xff && f1 == 0 {
		cur = 1
	} else if f1 == 0xff && f0 == 0 {
		cur = 0
	}
	if cur == 0 {
		return 0, v0, f0, nil
	}
	return 1, v1, f1, nil
}

// Load returns the variables of the current copy.
func (e *Env) Load() (map[string]string, error) {
	_, vars, _, err := e.current()
	return vars, err
}

// Save writes vars to the other copy with the next flag byte and fsyncs
// it: a write cut short leaves a bad CRC there and the old copy current.
func (e *Env) Save(vars map[string]string) error {
	cur, _, flags, err := e.current()
	if errors.Is(err, ErrNoValidCopy) {
		cur, flags = 1, 0
	} else if err != nil {
		return err
	}
	img := make([]byte, e.Size)
	data := img[header:]
	names := make([]string, 0, len(vars))
	for k := range vars {
		names = append(names, k)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	for _, k := range names {
		buf.WriteString(k + "=" + vars[k])
		buf.WriteByte(0)
	}
	buf.WriteByte(0)
	if buf.Len() > len(data) {
		return fmt.Errorf("ubootenvtest: environment of %d bytes does not fit %d", buf.Len(), len(data))
	}
	copy(data, buf.Bytes())
	binary.LittleEndian.PutUint32(img, crc32.ChecksumIEEE(data))
	img[4] = flags + 1
	f, err := os.OpenFile(e.Paths[1-cur], os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.WriteAt(img, 0); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Set changes some variables (an empty value deletes) in one Save.
func (e *Env) Set(kv map[string]string) error {
	vars, err := e.Load()
	if errors.Is(err, ErrNoValidCopy) {
		vars, err = map[string]string{}, nil
	}
	if err != nil {
		return err
	}
	for k, v := range kv {
		if v == "" {
			delete(vars, k)
		} else {
			vars[k] = v
		}
	}
	return e.Save(vars)
}

// WriteConfig writes an fw_env.config naming the two copies (device,
// offset, size), as libubootenv reads it.
func (e *Env) WriteConfig(path string) error {
	s := fmt.Sprintf("# device offset size\n%s 0x0 0x%x\n%s 0x0 0x%x\n", e.Paths[0], e.Size, e.Paths[1], e.Size)
	return os.WriteFile(path, []byte(s), 0o644)
}

// ReadConfig reads an fw_env.config with two entries.
func ReadConfig(path string) (*Env, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	e := &Env{}
	n := 0
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 3 || strings.HasPrefix(f[0], "#") {
			continue
		}
		size, err := strconv.ParseInt(strings.TrimPrefix(f[2], "0x"), 16, 64)
		if err != nil || n == 2 {
			return nil, fmt.Errorf("ubootenvtest: %s: bad line %q", path, line)
		}
		if n == 1 && int(size) != e.Size {
			return nil, fmt.Errorf("ubootenvtest: %s: copies of different sizes", path)
		}
		e.Paths[n], e.Size = f[0], int(size)
		n++
	}
	if n != 2 {
		return nil, fmt.Errorf("ubootenvtest: %s: %d copies, want a redundant environment (2)", path, n)
	}
	return e, nil
}

// Tool names.
const (
	PrintEnvName = "fw_printenv"
	SetEnvName   = "fw_setenv"
)

// MaybeRun runs the fake tool and exits if the binary was started as
// fw_printenv or fw_setenv; otherwise it returns.
func MaybeRun() {
	switch filepath.Base(os.Args[0]) {
	case PrintEnvName, SetEnvName:
		// syscall.Exit, not os.Exit: a race-enabled test binary sleeps a
		// second at a successful os.Exit (GORACE atexit_sleep_ms), once per
		// tool run. The tool is one goroutine; nothing is left to report.
		syscall.Exit(Main(os.Args, os.Stdout, os.Stderr))
	}
}

// Main is fw_printenv [-c config] [name…] or fw_setenv [-c config]
// (-s script | name [value…]), with libubootenv's script format (one
// "name=value" a line; "#" comments; an empty value deletes).
func Main(args []string, stdout, stderr io.Writer) int {
	name := filepath.Base(args[0])
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := fs.String("c", "/etc/fw_env.config", "configuration file")
	script := fs.String("s", "", "script (fw_setenv)")
	if err := fs.Parse(args[1:]); err != nil {
		return 1
	}
	env, err := ReadConfig(*cfg)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	switch name {
	case PrintEnvName:
		vars, err := env.Load()
		if err != nil {
			fmt.Fprintln(stderr, "Cannot read environment:", err)
			return 1
		}
		names := fs.Args()
		if len(names) == 0 {
			for k := range vars {
				names = append(names, k)
			}
			sort.Strings(names)
		}
		rc := 0
		for _, k := range names {
			v, ok := vars[k]
			if !ok {
				fmt.Fprintf(stderr, "## Error: \"%s\" not defined\n", k)
				rc = 1
				continue
			}
			fmt.Fprintf(stdout, "%s=%s\n", k, v)
		}
		return rc
	case SetEnvName:
		kv := map[string]string{}
		if *script != "" {
			b, err := os.ReadFile(*script)
			if err != nil {
				fmt.Fprintln(stderr, err)
				return 1
			}
			for _, line := range strings.Split(string(b), "\n") {
				line = strings.TrimRight(line, "\r")
				if line == "" || line[0] == '#' {
					continue
				}
				if k, v, ok := strings.Cut(line, "="); ok {
					kv[k] = v
				}
			}
		} else {
			a := fs.Args()
			if len(a) == 0 {
				fmt.Fprintln(stderr, "fw_setenv: no variable")
				return 1
			}
			kv[a[0]] = strings.Join(a[1:], " ")
		}
		if err := env.Set(kv); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		return 0
	}
	fmt.Fprintf(stderr, "ubootenvtest: unknown tool %s\n", name)
	return 1
}

// Rig is a redundant environment in a temp dir with the fake tools.
type Rig struct {
	Env      *Env
	Config   string // the fw_env.config path, for -c
	PrintEnv string // path of the fake fw_printenv
	SetEnv   string // path of the fake fw_setenv
}

// New makes a redundant environment in dir holding initial (the board's
// default environment, saved once by U-Boot), its fw_env.config, and
// fw_printenv/fw_setenv links to the running test binary, which must call
// MaybeRun.
func New(t testing.TB, dir string, initial map[string]string) *Rig {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	r := &Rig{
		Env:      &Env{Paths: [2]string{filepath.Join(dir, "uboot.env"), filepath.Join(dir, "uboot-redund.env")}, Size: Size},
		Config:   filepath.Join(dir, "fw_env.config"),
		PrintEnv: filepath.Join(dir, PrintEnvName),
		SetEnv:   filepath.Join(dir, SetEnvName),
	}
	// Both copies exist (regions of the device); the one U-Boot never
	// saved to is erased flash, which fails its CRC.
	for _, p := range r.Env.Paths {
		if err := os.WriteFile(p, bytes.Repeat([]byte{0xff}, r.Env.Size), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Env.Save(initial); err != nil {
		t.Fatal(err)
	}
	if err := r.Env.WriteConfig(r.Config); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{r.PrintEnv, r.SetEnv} {
		if err := os.Symlink(exe, p); err != nil {
			t.Fatal(err)
		}
	}
	return r
}
