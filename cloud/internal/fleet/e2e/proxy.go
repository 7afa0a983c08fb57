package e2e

import (
	"context"
	"io"
	"net"
	"sync"
)

// Proxy is a TCP proxy whose forwarding can be cut: while cut, the bytes
// of open connections are held back (not forwarded, not closed), as on a
// dead network link, and new connections are accepted but go nowhere.
type Proxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	cut   bool
	cond  *sync.Cond
	conns map[net.Conn]struct{}
}

// NewProxy listens on 127.0.0.1:0 and forwards to target until ctx is done.
func NewProxy(ctx context.Context, target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	p.cond = sync.NewCond(&p.mu)
	go func() {
		<-ctx.Done()
		ln.Close()
		p.mu.Lock()
		for c := range p.conns {
			c.Close()
		}
		p.cut = false
		p.cond.Broadcast()
		p.mu.Unlock()
	}()
	go p.accept(ctx)
	return p, nil
}

// Addr is the proxy's address.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Cut stops forwarding.
func (p *Proxy) Cut() {
	p.mu.Lock()
	p.cut = true
	p.mu.Unlock()
}

// Restore closes the connections that were open during the cut (their
// peers have given up on them) and forwards again.
func (p *Proxy) Restore() {
	p.mu.Lock()
	for c := range p.conns {
		c.Close()
	}
	p.cut = false
	p.cond.Broadcast()
	p.mu.Unlock()
}

func (p *Proxy) track(c net.Conn, add bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if add {
		p.conns[c] = struct{}{}
	} else {
		delete(p.conns, c)
	}
}

func (p *Proxy) accept(ctx context.Context) {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.serve(ctx, c)
	}
}

func (p *Proxy) serve(ctx context.Context, c net.Conn) {
	p.track(c, true)
	defer p.track(c, false)
	defer c.Close()
	p.mu.Lock()
	for p.cut && ctx.Err() == nil {
		p.cond.Wait()
	}
	p.mu.Unlock()
	if ctx.Err() != nil {
		return
	}
	var d net.Dialer
	up, err := d.DialContext(ctx, "tcp", p.target)
	if err != nil {
		return
	}
	p.track(up, true)
	defer p.track(up, false)
	defer up.Close()
	done := make(chan struct{}, 2)
	go func() { p.copy(up, c); done <- struct{}{} }()
	go func() { p.copy(c, up); done <- struct{}{} }()
	<-done
}

// copy forwards src to dst, holding data back while the proxy is cut.
func (p *Proxy) copy(dst, src net.Conn) {
	defer dst.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			for p.cut {
				p.cond.Wait()
			}
			p.mu.Unlock()
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if err != io.EOF {
				return
			}
			return
		}
	}
}
