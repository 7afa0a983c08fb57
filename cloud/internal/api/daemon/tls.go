package daemon

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"livegate.dev/cloud/internal/servertls"
)

// openTLS opens the HTTPS certificate when o asks for HTTPS; nil otherwise.
func openTLS(o Options) (*servertls.Certs, error) {
	if o.TLSAddr == "" && o.TLSListener == nil {
		if o.TLS.CertFile != "" || o.TLS.KeyFile != "" || len(o.TLS.Names) > 0 {
			return nil, errors.New("daemon: --tls-cert, --tls-key and --tls-names need --tls-addr, the HTTPS listener's address (e.g. :8443)")
		}
		return nil, nil
	}
	tc := o.TLS
	tc.Dev, tc.Clock, tc.Logger = o.Dev, o.Clock, o.Logger
	if tc.Dir == "" {
		tc.Dir = filepath.Join(o.DataDir, "tls")
	}
	certs, err := servertls.Open(tc)
	if err != nil {
		return nil, fmt.Errorf("daemon: %w", err)
	}
	return certs, nil
}

func (d *Daemon) hsts() string {
	if d.certs == nil {
		return ""
	}
	return servertls.HSTS(d.opts.HSTSMaxAge)
}

// serveRedirect serves the plain listener with redirects to HTTPS:
// temporary in dev mode (a browser must not remember one for localhost),
// permanent otherwise.
func (d *Daemon) serveRedirect() {
	port := d.tlsLn.Addr().(*net.TCPAddr).Port
	d.redirect = &http.Server{Handler: servertls.Redirect(port, d.opts.PublicURL, !d.opts.Dev),
		ReadHeaderTimeout: 10 * time.Second, IdleTimeout: time.Minute,
		ErrorLog: slog.NewLogLogger(d.opts.Logger.Handler(), slog.LevelDebug)}
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		if err := d.redirect.Serve(d.ln); err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
			d.errc <- fmt.Errorf("http redirect server: %w", err)
		}
	}()
}

func (d *Daemon) closeListeners() {
	d.ln.Close()
	if d.tlsLn != nil {
		d.tlsLn.Close()
	}
}

// TLSAddr is the HTTPS listener's address; nil without HTTPS.
func (d *Daemon) TLSAddr() net.Addr {
	if d.tlsLn == nil {
		return nil
	}
	return d.tlsLn.Addr()
}

// DevCA is the development CA that signed the HTTPS certificate; nil when
// HTTPS is off or its certificate came from files.
func (d *Daemon) DevCA() *servertls.DevCA {
	if d.certs == nil {
		return nil
	}
	return d.certs.Dev()
}

// ReloadTLS reads the HTTPS certificate files again (SIGHUP); on an error
// the previous certificate stays in service.
func (d *Daemon) ReloadTLS() error {
	if d.certs == nil {
		return errors.New("daemon: HTTPS is off")
	}
	return d.certs.Reload()
}
