package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"livegate.dev/models/assets"
)

// The shell blocks of the docs are executed: TestDocShellBlocks runs every
// ```sh, ```bash, ```shell and ```console block of README.md and docs/*.md,
// page by page, unless an HTML comment right before the block says why it
// is not executed (<!-- not executed: REASON -->) or names the test that
// runs it (<!-- Executed by TestName … -->, like the README's quickstart).
// A page's executed blocks run in order as one bash script, in an empty
// temporary directory, with the binaries this package builds in bin/ and
// every loopback port they name moved to a free one; nothing else of a
// block is rewritten.

// repoRoot is the repository's root, seen from this package.
const repoRoot = "../../.."

// shellLangs are the fence languages of shell blocks.
var shellLangs = map[string]bool{"sh": true, "bash": true, "shell": true, "console": true}

// shellBlock is one fenced shell block of a Markdown page.
type shellBlock struct {
	page   string   // relative to the repository's root, e.g. docs/api.md
	line   int      // the opening fence's line, from 1
	lang   string   // sh, bash, shell or console
	lines  []string // the block's lines, without the fences and the fence's indentation
	marker string   // the HTML comment right before the fence, its whitespace collapsed; "" if none
}

func (b shellBlock) String() string { return fmt.Sprintf("%s:%d", b.page, b.line) }

var fenceRE = regexp.MustCompile("^( *)(```+|~~~+)[ \t]*([^ \t`]*)")

// parseShellBlocks returns the shell blocks of a Markdown page, each with
// the HTML comment that ends on the nearest non-blank line before it.
func parseShellBlocks(page, md string) []shellBlock {
	lines := strings.Split(md, "\n")
	var blocks []shellBlock
	for i := 0; i < len(lines); i++ {
		m := fenceRE.FindStringSubmatch(lines[i])
		if m == nil {
			continue
		}
		indent, fence, lang := len(m[1]), m[2], strings.ToLower(m[3])
		j := i + 1
		var body []string
		for ; j < len(lines); j++ {
			if c := strings.TrimSpace(lines[j]); strings.HasPrefix(c, fence) && strings.Trim(c, fence[:1]) == "" {
				break
			}
			l := lines[j]
			for k := 0; k < indent && strings.HasPrefix(l, " "); k++ {
				l = l[1:]
			}
			body = append(body, l)
		}
		if shellLangs[lang] {
			blocks = append(blocks, shellBlock{page: page, line: i + 1, lang: lang, lines: body, marker: commentBefore(lines, i)})
		}
		i = j
	}
	return blocks
}

// commentBefore returns the HTML comment that ends on the nearest non-blank
// line before line i, its whitespace collapsed, or "".
func commentBefore(lines []string, i int) string {
	end := i - 1
	for end >= 0 && strings.TrimSpace(lines[end]) == "" {
		end--
	}
	if end < 0 || !strings.HasSuffix(strings.TrimSpace(lines[end]), "-->") {
		return ""
	}
	for start := end; start >= 0 && start > end-20; start-- {
		if k := strings.Index(lines[start], "<!--"); k >= 0 {
			text := strings.Join(append([]string{lines[start][k:]}, lines[start+1:end+1]...), " ")
			text = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(text), "<!--"), "-->")
			return strings.Join(strings.Fields(text), " ")
		}
	}
	return ""
}

// blockFate is what becomes of a shell block.
type blockFate int

const (
	runByDocTest      blockFate = iota // run by TestDocShellBlocks
	notExecuted                        // marked <!-- not executed: REASON -->
	executedByAnother                  // marked <!-- Executed by TestName … -->
)

var (
	notExecutedRE = regexp.MustCompile(`(?i)^not executed\b:?\s*(.*)$`)
	executedByRE  = regexp.MustCompile(`^Executed by (Test\w+)\b`)
)

// fateOf reads a block's marker: the reason it is not executed, or the
// test that executes it. A "not executed" marker without a reason, or one
// naming a test this package does not have, is an error.
func fateOf(b shellBlock, tests map[string]bool) (blockFate, string, error) {
	if m := notExecutedRE.FindStringSubmatch(b.marker); m != nil {
		if strings.TrimSpace(m[1]) == "" {
			return 0, "", fmt.Errorf("%s: the marker %q gives no reason: write <!-- not executed: REASON -->", b, b.marker)
		}
		return notExecuted, m[1], nil
	}
	if m := executedByRE.FindStringSubmatch(b.marker); m != nil {
		if !tests[m[1]] {
			return 0, "", fmt.Errorf("%s: marked as executed by %s, which is not a test of cloud/cmd/livegate-cloud", b, m[1])
		}
		return executedByAnother, m[1], nil
	}
	return runByDocTest, "", nil
}

// packageTests lists the Test functions of this package's test files.
func packageTests(t *testing.T) map[string]bool {
	t.Helper()
	files, err := filepath.Glob("*_test.go")
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]bool{}
	re := regexp.MustCompile(`(?m)^func (Test\w+)\(t \*testing\.T\)`)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllSubmatch(b, -1) {
			tests[string(m[1])] = true
		}
	}
	return tests
}

// docScript is the bash script made from a page's executed blocks.
type docScript struct {
	text       string
	blocks     []shellBlock
	ports      map[int]int  // the port a block names → the free loopback port used instead
	cloudPorts map[int]bool // the (free) ports livegate-cloud serve listens on: its HTTP statuses are checked
	tools      []string     // the bin/ binaries the blocks run (livegate-cloud, livegate-kiosk, …)
}

var (
	// docHostPort is a loopback host and port in a block: the port is moved.
	docHostPort = regexp.MustCompile(`\b(localhost|127\.0\.0\.1):(\d{2,5})\b`)
	// listenFlag is a flag that makes a command listen, and its address.
	listenFlag = regexp.MustCompile(`(--(?:addr|tls-addr|mqtt-addr|technician-listen))[ =](\S+)`)
	// mustListen are the commands that listen on a fixed port unless told
	// otherwise, with the flag that must then name a loopback port of the block.
	mustListen = []struct{ cmd, flag string }{
		{"livegate-cloud serve", "--addr"},
		{"livegate-cloud webhook-listen", "--addr"},
		{"livegate-kiosk enroll", "--technician-listen"},
	}
	docTool = regexp.MustCompile(`\bbin/(livegate-[a-z]+)\b`)
)

// usedPorts are the free ports handed out to doc scripts, so that pages run
// at the same time never get the same one.
var (
	usedPortsMu sync.Mutex
	usedPorts   = map[int]bool{}
)

func freshLoopbackPort(t *testing.T) int {
	t.Helper()
	usedPortsMu.Lock()
	defer usedPortsMu.Unlock()
	for {
		if p := freeLoopbackPort(t); !usedPorts[p] {
			usedPorts[p] = true
			return p
		}
	}
}

// newDocScript turns blocks, run in order, into one bash script:
//   - errors stop it (set -euo pipefail); on exit every process it started
//     is sent SIGTERM and waited for;
//   - a line that is `make build` is left out: the test puts the binaries
//     in bin/ itself; any other make target is refused;
//   - each port of localhost:PORT or 127.0.0.1:PORT becomes a free loopback
//     port, the same one everywhere in the script; a server started by a
//     block must listen on one of those, on loopback;
//   - curl reports each answer's status on stderr (@@curl BLOCK STATUS URL)
//     for checkCurlStatuses;
//   - a ```console block runs its `$ ` lines only.
func newDocScript(t *testing.T, blocks []shellBlock) (*docScript, error) {
	t.Helper()
	s := &docScript{blocks: blocks, ports: map[int]int{}, cloudPorts: map[int]bool{}}
	var b strings.Builder
	b.WriteString("set -euo pipefail\n")
	// SIGTERM to the script's whole process group (the script ignores it),
	// so that processes started by a background loop stop too.
	b.WriteString("trap 'trap \"\" TERM; kill -TERM 0 2>/dev/null || true; wait' EXIT\n")
	b.WriteString("curl() { command curl -w \"%{stderr}@@curl ${__doc_block} %{http_code} %{url_effective}\\n\" \"$@\"; }\n")
	tools := map[string]bool{}
	for _, blk := range blocks {
		fmt.Fprintf(&b, "\n# --- %s\n__doc_block=%d\n", blk, blk.line)
		lines := blk.lines
		if blk.lang == "console" {
			lines = consoleCommands(lines)
		}
		var cmd strings.Builder // the logical command (continuation lines joined)
		for _, l := range lines {
			if f := strings.Fields(l); len(f) > 0 && f[0] == "make" {
				if len(f) == 2 && f[1] == "build" || len(f) > 2 && f[1] == "build" && strings.HasPrefix(f[2], "#") {
					continue
				}
				return nil, fmt.Errorf("%s: %q: the doc test runs no make target but build; mark the block <!-- not executed: REASON -->", blk, strings.TrimSpace(l))
			}
			l = docHostPort.ReplaceAllStringFunc(l, func(hp string) string {
				host, port, _ := strings.Cut(hp, ":")
				p, _ := strconv.Atoi(port)
				if _, ok := s.ports[p]; !ok {
					s.ports[p] = freshLoopbackPort(t)
				}
				return host + ":" + strconv.Itoa(s.ports[p])
			})
			for _, m := range docTool.FindAllStringSubmatch(l, -1) {
				tools[m[1]] = true
			}
			b.WriteString(l + "\n")
			cmd.WriteString(strings.TrimSuffix(l, "\\") + " ")
			if strings.HasSuffix(l, "\\") {
				continue
			}
			if err := s.checkListen(blk, cmd.String()); err != nil {
				return nil, err
			}
			cmd.Reset()
		}
	}
	for tool := range tools {
		s.tools = append(s.tools, tool)
	}
	sort.Strings(s.tools)
	s.text = b.String()
	return s, nil
}

// checkListen refuses a command that would listen on anything but one of
// the script's free loopback ports, and notes the ports the cloud serves on.
func (s *docScript) checkListen(blk shellBlock, cmd string) error {
	moved := map[int]bool{}
	for _, p := range s.ports {
		moved[p] = true
	}
	flags := map[string]string{}
	for _, m := range listenFlag.FindAllStringSubmatch(cmd, -1) {
		flags[m[1]] = m[2]
	}
	for _, ml := range mustListen {
		if strings.Contains(cmd, ml.cmd) && flags[ml.flag] == "" {
			return fmt.Errorf("%s: %q listens on a fixed port without %s 127.0.0.1:PORT, which the test could move to a free one", blk, strings.TrimSpace(cmd), ml.flag)
		}
	}
	for flag, addr := range flags {
		m := docHostPort.FindStringSubmatch(addr)
		p := 0
		if m != nil && m[0] == addr {
			p, _ = strconv.Atoi(m[2])
		}
		if !moved[p] {
			return fmt.Errorf("%s: %s %s: a command must listen on 127.0.0.1:PORT or localhost:PORT, which the test moves to a free loopback port", blk, flag, addr)
		}
		if strings.Contains(cmd, "livegate-cloud serve") && (flag == "--addr" || flag == "--tls-addr") {
			s.cloudPorts[p] = true
		}
	}
	return nil
}

// consoleCommands keeps the commands of a console transcript: the lines
// after a `$ ` prompt, with their continuation lines (a `> ` prompt taken
// off them).
func consoleCommands(lines []string) []string {
	var out []string
	cont := false
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "$ "):
			out = append(out, l[2:])
		case cont:
			out = append(out, strings.TrimPrefix(l, "> "))
		default:
			continue
		}
		cont = strings.HasSuffix(l, "\\")
	}
	return out
}

var (
	buildToolsMu sync.Mutex
	builtTools   = map[string]string{}
	// toolModules is the module of each binary a doc runs from bin/.
	toolModules = map[string]string{"livegate-kiosk": "firmware", "livegate-ota": "ota", "livegate-face": "models"}
)

// buildTool builds one of the project's binaries (once per test run) next
// to the livegate-cloud one and returns its path.
func buildTool(t *testing.T, name string) string {
	t.Helper()
	if name == "livegate-cloud" {
		return buildBinary(t)
	}
	module, ok := toolModules[name]
	if !ok {
		t.Fatalf("bin/%s is no binary of the project", name)
	}
	buildBinary(t) // makes buildDir
	buildToolsMu.Lock()
	defer buildToolsMu.Unlock()
	if bin, ok := builtTools[name]; ok {
		return bin
	}
	bin := filepath.Join(buildDir, name)
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/"+name)
	cmd.Dir = filepath.Join(repoRoot, module)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", name, err, out)
	}
	builtTools[name] = bin
	return bin
}

// needsModels reports whether a script runs the liveness engine (the kiosk
// or livegate-face), which needs the models `make setup` fetches.
func (s *docScript) needsModels() bool {
	for _, tool := range s.tools {
		if tool == "livegate-kiosk" || tool == "livegate-face" {
			return true
		}
	}
	return false
}

// build builds the binaries the script runs, and says how long it took.
func (s *docScript) build(t *testing.T) time.Duration {
	t.Helper()
	t0 := time.Now()
	for _, tool := range s.tools {
		buildTool(t, tool)
	}
	return time.Since(t0)
}

// run writes the script into an empty temporary directory with the
// binaries it uses in bin/, runs it with bash there in its own process
// group, and returns its output (stdout and stderr). Every process left in
// the group afterwards is killed. The environment is the caller's without
// LIVEGATE_* variables, but those that say where the models are.
func (s *docScript) run(t *testing.T, timeout time.Duration) (dir string, out []byte, err error) {
	t.Helper()
	dir = t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tool := range s.tools {
		if err := os.Symlink(buildTool(t, tool), filepath.Join(dir, "bin", tool)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "doc.sh"), []byte(s.text), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "doc.sh")
	cmd.Dir = dir
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "LIVEGATE_") && k != assets.EnvCache && k != "LIVEGATE_MODELS" && k != assets.EnvORTLib {
			continue
		}
		cmd.Env = append(cmd.Env, kv)
	}
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	// Its own process group: on timeout the whole group (bash and every
	// process it started) is killed, not bash alone.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	err = cmd.Run()
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // anything that outlived the script
	}
	return dir, buf.Bytes(), err
}

var (
	curlStatusRE   = regexp.MustCompile(`(?m)@@curl (\d+) (\d{3}) (\S+)$`)
	expectStatusRE = regexp.MustCompile(`^\s*#\s*([45]\d\d)\b`)
)

// checkCurlStatuses checks the HTTP answers of the cloud under test (the
// ports livegate-cloud serve listens on) that curl reported: a block may
// get a 4xx or 5xx only when it shows it in a comment line (`# 422 {…}`),
// and must then get it. Other servers (a webhook receiver probed for
// readiness, the kiosk) are not checked here.
func (s *docScript) checkCurlStatuses(out []byte) []string {
	got := map[int][]string{} // block line → "STATUS URL" of the cloud
	for _, m := range curlStatusRE.FindAllStringSubmatch(string(out), -1) {
		line, _ := strconv.Atoi(m[1])
		u := docHostPort.FindStringSubmatch(m[3])
		if u == nil {
			continue
		}
		if p, _ := strconv.Atoi(u[2]); s.cloudPorts[p] {
			got[line] = append(got[line], m[2]+" "+m[3])
		}
	}
	var errs []string
	for _, blk := range s.blocks {
		want := map[string]bool{}
		for _, l := range blk.lines {
			if m := expectStatusRE.FindStringSubmatch(l); m != nil {
				want[m[1]] = true
			}
		}
		seen := map[string]bool{}
		for _, a := range got[blk.line] {
			status, url, _ := strings.Cut(a, " ")
			seen[status] = true
			if status >= "400" && !want[status] {
				errs = append(errs, fmt.Sprintf("%s: the cloud answered %s to %s", blk, status, url))
			}
		}
		for status := range want {
			if !seen[status] {
				errs = append(errs, fmt.Sprintf("%s: the block shows a %s answer, but the cloud gave %v", blk, status, got[blk.line]))
			}
		}
	}
	return errs
}

// docOutputProblems are lines of a script's output that fail it although
// the script succeeded: a webhook receiver refusing a signature.
var docOutputProblems = regexp.MustCompile(`(?m)^REJECTED event .*$`)

// docPages are README.md and docs/*.md, relative to the repository's root.
func docPages(t *testing.T) []string {
	t.Helper()
	pages, err := filepath.Glob(filepath.Join(repoRoot, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range pages {
		pages[i], _ = filepath.Rel(repoRoot, p)
	}
	return append([]string{"README.md"}, pages...)
}

// TestDocShellBlocks runs the docs' shell blocks as written, so that a doc
// that drifts from the code fails: for README.md and each docs/*.md page,
// every shell block must be marked <!-- not executed: REASON --> or
// <!-- Executed by TestName … --> right before it, or it is run here. A
// page's runnable blocks make one script (newDocScript), run in order in an
// empty temporary directory against the servers the blocks themselves start
// (livegate-cloud serve --dev, webhook-listen, a sim kiosk) on free loopback
// ports. A page passes when its script exits 0, the cloud answered no
// request with an error the block does not show, and no webhook receiver
// refused a signature. Pages run in parallel; a page that runs the liveness
// engine (the kiosk) needs the models of make setup and is skipped with
// -short.
func TestDocShellBlocks(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "jq", "openssl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("the docs' shell blocks need %s: %v", tool, err)
		}
	}
	tests := packageTests(t)
	start := time.Now()
	t.Cleanup(func() { t.Logf("the docs' shell blocks ran in %v", time.Since(start).Round(10*time.Millisecond)) })

	for _, page := range docPages(t) {
		raw, err := os.ReadFile(filepath.Join(repoRoot, page))
		if err != nil {
			t.Fatal(err)
		}
		var run []shellBlock
		for _, b := range parseShellBlocks(page, string(raw)) {
			fate, detail, err := fateOf(b, tests)
			if err != nil {
				t.Error(err)
				continue
			}
			switch fate {
			case notExecuted:
				t.Logf("%s not executed: %s", b, detail)
			case executedByAnother:
				t.Logf("%s executed by %s", b, detail)
			default:
				run = append(run, b)
			}
		}
		if len(run) == 0 {
			continue
		}
		t.Run(page, func(t *testing.T) {
			t.Parallel()
			runDocPage(t, run)
		})
	}
}

// runDocPage runs a page's executed blocks as one script and checks it.
func runDocPage(t *testing.T, blocks []shellBlock) {
	s, err := newDocScript(t, blocks)
	if err != nil {
		t.Fatal(err)
	}
	if s.needsModels() {
		if testing.Short() {
			t.Skip("runs the liveness engine")
		}
		if _, err := assets.Model("face_landmark.onnx"); err != nil {
			if os.Getenv("LIVEGATE_SKIP_MEDIA") == "1" {
				t.Skipf("models missing (LIVEGATE_SKIP_MEDIA=1): %v", err)
			}
			t.Fatalf("%v (run make setup)", err)
		}
	}
	built := s.build(t)
	t0 := time.Now()
	_, out, err := s.run(t, 2*time.Minute)
	t.Logf("%d blocks ran in %v (binaries built in %v)", len(blocks), time.Since(t0).Round(10*time.Millisecond), built.Round(10*time.Millisecond))
	problems := s.checkCurlStatuses(out)
	for _, m := range docOutputProblems.FindAll(out, -1) {
		problems = append(problems, string(m))
	}
	if err != nil {
		problems = append([]string{fmt.Sprintf("the script failed: %v", err)}, problems...)
	}
	if len(problems) > 0 {
		t.Errorf("%s\n--- script\n%s--- output\n%s", strings.Join(problems, "\n"), numbered(s.text), out)
	}
}

// numbered prefixes each line of a script with its number, as bash's
// error messages give it.
func numbered(script string) string {
	var b strings.Builder
	sc := bufio.NewScanner(strings.NewReader(script))
	for n := 1; sc.Scan(); n++ {
		fmt.Fprintf(&b, "%4d  %s\n", n, sc.Text())
	}
	return b.String()
}

// TestDocScriptRules checks the rules of the docs' scripts on made-up
// pages, without running them: what a marker must say, which commands are
// refused, how ports move, what counts as an unexpected HTTP answer.
func TestDocScriptRules(t *testing.T) {
	md := "intro\n\n" +
		"<!-- not executed: needs a board -->\n```sh\nsudo reboot\n```\n\n" +
		"<!-- not executed -->\n```bash\nls\n```\n\n" +
		"<!-- Executed by TestReadmeQuickstart (there): more\n     words -->\n\n```sh\necho quickstart\n```\n\n" +
		"<!-- Executed by TestNoSuchThing -->\n```sh\necho\n```\n\n" +
		"```go\nfmt.Println()\n```\n\n" +
		"1. a step\n\n   ```console\n   $ curl localhost:8000/a \\\n   >   -H 'X: y'\n   output\n   $ echo localhost:8000 127.0.0.1:9000\n   ```\n"
	blocks := parseShellBlocks("p.md", md)
	if len(blocks) != 5 {
		t.Fatalf("%d shell blocks, want 5: %+v", len(blocks), blocks)
	}
	tests := packageTests(t)
	for i, want := range []struct {
		fate   blockFate
		detail string
		err    bool
	}{{notExecuted, "needs a board", false}, {0, "", true}, {executedByAnother, "TestReadmeQuickstart", false}, {0, "", true}, {runByDocTest, "", false}} {
		fate, detail, err := fateOf(blocks[i], tests)
		if (err != nil) != want.err || err == nil && (fate != want.fate || detail != want.detail) {
			t.Errorf("%s (marker %q): %v %q %v, want %v %q error %v", blocks[i], blocks[i].marker, fate, detail, err, want.fate, want.detail, want.err)
		}
	}
	console := blocks[4]
	if console.lang != "console" || console.line != 31 {
		t.Errorf("the list item's block: %s %s", console, console.lang)
	}
	s, err := newDocScript(t, []shellBlock{console})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(s.text, "output") || strings.Contains(s.text, "8000") || strings.Contains(s.text, "9000") || len(s.ports) != 2 {
		t.Errorf("console block: ports %v, script\n%s", s.ports, s.text)
	}
	if want := fmt.Sprintf("curl localhost:%d/a \\\n  -H 'X: y'\n", s.ports[8000]); !strings.Contains(s.text, want) {
		t.Errorf("script lacks %q:\n%s", want, s.text)
	}
	if want := fmt.Sprintf("echo localhost:%d 127.0.0.1:%d\n", s.ports[8000], s.ports[9000]); !strings.Contains(s.text, want) {
		t.Errorf("script lacks %q:\n%s", want, s.text)
	}

	for _, c := range []struct{ block, refused string }{
		{"make build\nbin/livegate-cloud serve --addr 127.0.0.1:8000 --dev &", ""},
		{"make build   # the binaries\nbin/livegate-cloud webhook-listen --addr=localhost:9000 &", ""},
		{"make test", "runs no make target but build"},
		{"bin/livegate-cloud serve --data ./data --dev &", "without --addr"},
		{"bin/livegate-cloud serve --addr :8000 &", "must listen on 127.0.0.1:PORT"},
		{"bin/livegate-cloud serve \\\n  --addr 127.0.0.1:8000 --mqtt-addr 0.0.0.0:8883 &", "must listen on 127.0.0.1:PORT"},
		{"bin/livegate-cloud webhook-listen --secret x &", "without --addr"},
		{"bin/livegate-kiosk enroll --cloud http://127.0.0.1:8000 --board sim", "without --technician-listen"},
	} {
		_, err := newDocScript(t, []shellBlock{{page: "p.md", line: 1, lang: "sh", lines: strings.Split(c.block, "\n")}})
		if c.refused == "" && err != nil || c.refused != "" && (err == nil || !strings.Contains(err.Error(), c.refused)) {
			t.Errorf("%q: %v, want refused: %q", c.block, err, c.refused)
		}
	}

	s, err = newDocScript(t, []shellBlock{
		{page: "p.md", line: 1, lang: "sh", lines: []string{"bin/livegate-cloud serve --addr 127.0.0.1:8000 &", "curl localhost:8000/a", "curl 127.0.0.1:9000"}},
		{page: "p.md", line: 9, lang: "sh", lines: []string{"curl localhost:8000/b", "# 422 {\"detail\": …}"}},
		{page: "p.md", line: 20, lang: "sh", lines: []string{"curl localhost:8000/c", "# 409 {…}"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.tools) != 1 || s.tools[0] != "livegate-cloud" {
		t.Errorf("tools %v", s.tools)
	}
	cloud, other := s.ports[8000], s.ports[9000]
	out := fmt.Sprintf("{}@@curl 1 200 http://localhost:%[1]d/a\n@@curl 1 400 http://127.0.0.1:%[2]d/\n"+
		"@@curl 1 404 http://localhost:%[1]d/x\n@@curl 9 422 http://localhost:%[1]d/b\n@@curl 20 200 http://localhost:%[1]d/c\n", cloud, other)
	got := s.checkCurlStatuses([]byte(out))
	want := []string{
		fmt.Sprintf("p.md:1: the cloud answered 404 to http://localhost:%d/x", cloud),
		fmt.Sprintf("p.md:20: the block shows a 409 answer, but the cloud gave [200 http://localhost:%d/c]", cloud),
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("checkCurlStatuses:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
