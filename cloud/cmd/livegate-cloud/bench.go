package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/spf13/cobra"

	"livegate.dev/cloud/internal/api"
	"livegate.dev/cloud/internal/api/daemon"
	"livegate.dev/cloud/internal/core"
	"livegate.dev/cloud/internal/pgtest"
)

const benchBody = `{"user_id":"bench_user","mode":"passive"}`

type benchResult struct {
	name     string
	rps      float64
	p50, p99 time.Duration
	requests int64
	errors   int64
	note     string
}

// benchCmd measures POST /api/v1/managed-session throughput and latency
// with each store, as a ratio to a bare Fiber handler returning the same
// JSON, all in one run under the same load.
func benchCmd() *cobra.Command {
	var (
		duration, warmup time.Duration
		conns            int
		stores           string
		tool             string
		cpuProfile       string
	)
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Benchmark session creation (bbolt, PostgreSQL) against a bare Fiber handler",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if cpuProfile != "" {
				f, err := os.Create(cpuProfile)
				if err != nil {
					return err
				}
				defer f.Close()
				if err := pprof.StartCPUProfile(f); err != nil {
					return err
				}
				defer pprof.StopCPUProfile()
			}
			if tool == "auto" {
				tool = "go"
				if _, err := exec.LookPath("wrk"); err == nil {
					tool = "wrk"
				}
			}
			load := func(url, key string) (benchResult, error) {
				if warmup > 0 {
					if _, err := runLoad(ctx, tool, url, key, conns, warmup); err != nil {
						return benchResult{}, err
					}
				}
				return runLoad(ctx, tool, url, key, conns, duration)
			}
			fmt.Printf("bench: POST /api/v1/managed-session, %d keep-alive connections, %s per run (+%s warm-up), load by %s, %s\n",
				conns, duration, warmup, tool, cpuNote())

			var results []benchResult
			bare, err := benchBare(load)
			if err != nil {
				return fmt.Errorf("bare handler: %w", err)
			}
			bare.name = "bare Fiber handler (same JSON)"
			results = append(results, bare)
			for _, st := range strings.Split(stores, ",") {
				r, err := benchStore(ctx, strings.TrimSpace(st), load)
				if err != nil {
					r = benchResult{name: st, note: "skipped: " + err.Error()}
				}
				results = append(results, r)
			}
			printTable(os.Stdout, results, bare)
			return nil
		},
	}
	f := cmd.Flags()
	f.DurationVar(&duration, "duration", 10*time.Second, "measured time per target")
	f.DurationVar(&warmup, "warmup", 2*time.Second, "unmeasured warm-up per target")
	f.IntVar(&conns, "conns", 64, "concurrent keep-alive connections")
	f.StringVar(&stores, "stores", "bbolt,postgres", "stores to measure")
	f.StringVar(&tool, "tool", "auto", "load generator: wrk, go, or auto (wrk if installed)")
	f.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the server side to this file")
	return cmd
}

func cpuNote() string {
	return fmt.Sprintf("%d CPUs, server and load generator on the same machine", runtime.NumCPU())
}

func benchBare(load func(url, key string) (benchResult, error)) (benchResult, error) {
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	expires := time.Now().Add(30 * time.Minute).UTC()
	app.Post("/api/v1/managed-session", func(c *fiber.Ctx) error {
		id := core.NewID("ses", time.Now())
		return c.Status(201).JSON(api.SessionCreated{
			SessionID: id, SessionURL: "http://localhost:8000/s/" + id + "?t=" + core.NewSecret("lgct_"),
			Token: core.NewSecret("lgst_"), ClientToken: core.NewSecret("lgct_"), ExpiresAt: expires, Mode: core.ModePassive, Status: core.StatusPending,
		})
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return benchResult{}, err
	}
	go app.Listener(ln)
	defer app.Shutdown()
	return load("http://"+ln.Addr().String()+"/api/v1/managed-session", "")
}

func benchStore(ctx context.Context, kind string, load func(url, key string) (benchResult, error)) (benchResult, error) {
	dir, err := os.MkdirTemp("", "livegate-bench-")
	if err != nil {
		return benchResult{}, err
	}
	defer os.RemoveAll(dir)
	o := daemon.Options{
		Addr: "127.0.0.1:0", DataDir: dir, Store: kind, RateLimit: -1, AdminToken: "bench-admin",
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	name := kind + " (durable: fsync per group commit)"
	if kind == daemon.StorePostgres {
		pg, err := pgtest.StartServer(ctx, "")
		if err != nil {
			return benchResult{}, err
		}
		defer pg.Stop()
		o.PostgresDSN = pg.DSN()
		name = "postgres (synchronous_commit on)"
	}
	d, err := daemon.Start(ctx, o)
	if err != nil {
		return benchResult{}, err
	}
	defer d.Shutdown(context.Background())
	base := "http://" + d.Addr().String()
	req, _ := http.NewRequestWithContext(ctx, "POST", base+"/admin/v1/tenants", strings.NewReader(`{"name":"bench","mode":"test"}`))
	req.Header.Set("Authorization", "Bearer bench-admin")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return benchResult{}, err
	}
	var created api.TenantCreated
	err = json.NewDecoder(resp.Body).Decode(&created)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 201 {
		return benchResult{}, fmt.Errorf("creating bench tenant: status %d: %v", resp.StatusCode, err)
	}
	r, err := load(base+"/api/v1/managed-session", created.APIKey)
	r.name = name
	return r, err
}

func runLoad(ctx context.Context, tool, url, key string, conns int, d time.Duration) (benchResult, error) {
	if tool == "wrk" {
		return runWrk(ctx, url, key, conns, d)
	}
	return runGoLoad(ctx, url, key, conns, d)
}

var (
	reRPS     = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	reReqs    = regexp.MustCompile(`([0-9]+) requests in`)
	reNon2xx  = regexp.MustCompile(`Non-2xx or 3xx responses:\s+([0-9]+)`)
	reSockErr = regexp.MustCompile(`Socket errors: connect ([0-9]+), read ([0-9]+), write ([0-9]+), timeout ([0-9]+)`)
	reP       = regexp.MustCompile(`(?m)^\s+(50|99)\.000%\s+([0-9.]+)(us|ms|s)`)
)

func runWrk(ctx context.Context, url, key string, conns int, d time.Duration) (benchResult, error) {
	dir, err := os.MkdirTemp("", "livegate-wrk-")
	if err != nil {
		return benchResult{}, err
	}
	defer os.RemoveAll(dir)
	script := "wrk.method = \"POST\"\nwrk.body = '" + benchBody + "'\nwrk.headers[\"Content-Type\"] = \"application/json\"\n"
	if key != "" {
		script += "wrk.headers[\"Authorization\"] = \"Bearer " + key + "\"\n"
	}
	// Report exact percentiles (wrk's --latency gives only 50/75/90/99 of a
	// coarse histogram; its done() hook reads the full one).
	script += `done = function(summary, latency, requests)
  for _, p in pairs({50, 99}) do
    io.write(string.format("  %d.000%%  %dus\n", p, latency:percentile(p)))
  end
end
`
	path := filepath.Join(dir, "post.lua")
	if err := os.WriteFile(path, []byte(script), 0o600); err != nil {
		return benchResult{}, err
	}
	threads := max(1, min(runtime.NumCPU(), conns))
	out, err := exec.CommandContext(ctx, "wrk", "-t", strconv.Itoa(threads), "-c", strconv.Itoa(conns),
		"-d", fmt.Sprintf("%ds", int(d.Seconds())), "-s", path, url).CombinedOutput()
	if err != nil {
		return benchResult{}, fmt.Errorf("wrk: %w\n%s", err, out)
	}
	s := string(out)
	var r benchResult
	if m := reRPS.FindStringSubmatch(s); m != nil {
		r.rps, _ = strconv.ParseFloat(m[1], 64)
	} else {
		return r, fmt.Errorf("wrk output without Requests/sec:\n%s", s)
	}
	if m := reReqs.FindStringSubmatch(s); m != nil {
		r.requests, _ = strconv.ParseInt(m[1], 10, 64)
	}
	if m := reNon2xx.FindStringSubmatch(s); m != nil {
		r.errors, _ = strconv.ParseInt(m[1], 10, 64)
	}
	if m := reSockErr.FindStringSubmatch(s); m != nil {
		for _, x := range m[1:] {
			n, _ := strconv.ParseInt(x, 10, 64)
			r.errors += n
		}
	}
	for _, m := range reP.FindAllStringSubmatch(s, -1) {
		v, _ := strconv.ParseFloat(m[2], 64)
		unit := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second}[m[3]]
		dur := time.Duration(v * float64(unit))
		if m[1] == "50" {
			r.p50 = dur
		} else {
			r.p99 = dur
		}
	}
	return r, nil
}

// runGoLoad is the fallback load generator: conns goroutines, each with its
// own keep-alive connection, posting back to back.
func runGoLoad(ctx context.Context, url, key string, conns int, d time.Duration) (benchResult, error) {
	tr := &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var errs, n atomic.Int64
	lat := make([][]time.Duration, conns)
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < conns; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for ctx.Err() == nil {
				req, _ := http.NewRequestWithContext(ctx, "POST", url, bytes.NewReader([]byte(benchBody)))
				req.Header.Set("Content-Type", "application/json")
				if key != "" {
					req.Header.Set("Authorization", "Bearer "+key)
				}
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					if ctx.Err() == nil {
						errs.Add(1)
					}
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				lat[i] = append(lat[i], time.Since(t0))
				n.Add(1)
				if resp.StatusCode != 201 {
					errs.Add(1)
				}
			}
		}(i)
	}
	wg.Wait()
	el := time.Since(start)
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	if len(all) == 0 {
		return benchResult{}, errors.New("no request completed")
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	return benchResult{rps: float64(n.Load()) / el.Seconds(), requests: n.Load(), errors: errs.Load(),
		p50: all[len(all)/2], p99: all[len(all)*99/100]}, nil
}

func printTable(w io.Writer, rs []benchResult, bare benchResult) {
	bw := bufio.NewWriter(w)
	defer bw.Flush()
	fmt.Fprintf(bw, "\n| target | req/s | ratio to bare | p50 | p99 | requests | errors |\n|---|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range rs {
		if r.note != "" {
			fmt.Fprintf(bw, "| %s | – | – | – | – | – | %s |\n", r.name, r.note)
			continue
		}
		fmt.Fprintf(bw, "| %s | %.0f | %.2f | %s | %s | %d | %d |\n", r.name, r.rps, r.rps/bare.rps,
			fmtDur(r.p50), fmtDur(r.p99), r.requests, r.errors)
	}
}

func fmtDur(d time.Duration) string {
	if d < time.Millisecond {
		return fmt.Sprintf("%d µs", d.Microseconds())
	}
	return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000)
}
