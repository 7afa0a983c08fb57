package bolt

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"livegate.dev/cloud/internal/core"
)

const killChildEnv = "LIVEGATE_BOLT_KILL_CHILD_DIR"

// TestKill9 re-executes the test binary as a child that creates sessions
// (each with a queued delivery) and completes some (queueing another) from
// several goroutines, printing each id only after the call returned; the parent SIGKILLs it mid-stream, reopens
// the file, and checks that everything the child printed is there.
func TestKill9(t *testing.T) {
	if os.Getenv(killChildEnv) != "" {
		t.Skip("in the child")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKill9Child$", "-test.count=1")
	cmd.Env = append(os.Environ(), killChildEnv+"="+dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	defer func() {
		if !killed {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()

	const killAfter = 400 // acknowledged sessions before the kill
	type ack struct{ session, delivery string }
	var acks, updates []ack // created with a delivery; completed with a delivery
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	deadline := time.After(2 * time.Minute)
read:
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				break read
			}
			f := strings.Fields(line)
			if len(f) != 3 {
				continue
			}
			switch f[0] {
			case "ACK":
				acks = append(acks, ack{f[1], f[2]})
			case "UPD":
				updates = append(updates, ack{f[1], f[2]})
			}
			if len(acks) == killAfter && !killed {
				if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
				killed = true
				// Keep reading: lines the child wrote before it died are
				// acknowledgements too.
			}
		case <-deadline:
			t.Fatalf("child acknowledged only %d sessions in time", len(acks))
		}
	}
	werr := cmd.Wait()
	if !killed {
		t.Fatalf("child exited before the kill after %d acknowledgements: %v", len(acks), werr)
	}
	var ee *exec.ExitError
	if !errors.As(werr, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child did not die of SIGKILL: %v", werr)
	}

	s := open(t, dir, Options{})
	ctx := context.Background()
	missing := 0
	for _, a := range acks {
		if _, err := s.GetSession(ctx, a.session); err != nil {
			missing++
			t.Errorf("acknowledged session %s lost: %v", a.session, err)
		}
		if d, err := s.GetDelivery(ctx, a.delivery); err != nil || d.SessionID != a.session {
			missing++
			t.Errorf("acknowledged delivery %s lost: %v", a.delivery, err)
		}
	}
	for _, u := range updates {
		if ses, err := s.GetSession(ctx, u.session); err != nil || ses.Status != core.StatusCompleted {
			missing++
			t.Errorf("acknowledged completion of %s lost: %+v, %v", u.session, ses, err)
		}
		if d, err := s.GetDelivery(ctx, u.delivery); err != nil || d.Type != core.EventSessionCompleted {
			missing++
			t.Errorf("acknowledged completion delivery %s lost: %v", u.delivery, err)
		}
	}
	if len(updates) == 0 {
		t.Error("the child acknowledged no completion before the kill")
	}
	// The reopened store works: the acknowledged deliveries are claimable.
	claimed, err := s.ClaimDeliveries(ctx, time.Now().Add(time.Hour), time.Minute, len(acks)+1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(claimed) < len(acks)+len(updates) {
		t.Errorf("claimed %d deliveries after restart, want at least %d", len(claimed), len(acks)+len(updates))
	}
	t.Logf("killed after %d acknowledged creations and %d completions; %d lost; %d deliveries claimable",
		len(acks), len(updates), missing, len(claimed))
}

// TestKill9Child is the child of TestKill9; it runs only when re-executed.
func TestKill9Child(t *testing.T) {
	dir := os.Getenv(killChildEnv)
	if dir == "" {
		t.Skip("only run as the child of TestKill9")
	}
	s, err := Open(dir, Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ctx := context.Background()
	var mu sync.Mutex
	w := bufio.NewWriter(os.Stdout)
	var wg sync.WaitGroup
	stop := time.Now().Add(90 * time.Second) // the parent kills long before
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				now := time.Now()
				ses := session(core.NewID("ses", now))
				d := delivery(core.NewID("evt", now), ses.ID)
				if _, err := s.CreateSession(ctx, ses, []*core.Delivery{d}); err != nil {
					fmt.Fprintln(os.Stderr, "child:", err)
					os.Exit(2)
				}
				mu.Lock()
				fmt.Fprintf(w, "ACK %s %s\n", ses.ID, d.ID)
				w.Flush() // the line is out before the next write starts
				mu.Unlock()
				if ses.ID[len(ses.ID)-1]%4 != 0 {
					continue
				}
				// Complete about a quarter of them, queueing session.completed.
				var done *core.Delivery
				_, err := s.UpdateSession(ctx, ses.ID, func(c *core.Session) ([]*core.Delivery, error) {
					c.Status = core.StatusCompleted
					done = delivery(core.NewID("evt", time.Now()), c.ID)
					done.Type = core.EventSessionCompleted
					return []*core.Delivery{done}, nil
				})
				if err != nil {
					fmt.Fprintln(os.Stderr, "child:", err)
					os.Exit(2)
				}
				mu.Lock()
				fmt.Fprintf(w, "UPD %s %s\n", ses.ID, done.ID)
				w.Flush()
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	s.Close()
}
