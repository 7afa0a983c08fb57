package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"livegate.dev/firmware/config"
	"livegate.dev/firmware/kiosk"
	"livegate.dev/firmware/outbox"
	fsync "livegate.dev/firmware/sync"
	"livegate.dev/proto"
)

// newSync prepares the MQTT link of cfg.Cloud (nil when no broker is
// configured and no enrolled credentials exist: the kiosk runs offline and
// results wait in the outbox).
// Commands go to h; versions names the running firmware and models (the
// active slots when OTA is configured) for the birth and telemetry.
func newSync(c config.Config, ob *outbox.Outbox, h fsync.CommandHandler, versions func() (string, string), log *slog.Logger) (*fsync.Client, error) {
	cc := c.Cloud
	sc := fsync.Config{DeviceID: c.DeviceID, BrokerURL: cc.Broker, Outbox: ob, Username: cc.Username,
		Handler: h, Logger: log, AckTimeout: cc.AckTimeout, FirmwareVersion: version, Versions: versions}
	if cc.CredentialsDir != "" {
		cr, err := fsync.LoadCredentials(cc.CredentialsDir)
		switch {
		case err == nil:
			if sc.BrokerURL == "" {
				sc.BrokerURL = cr.BrokerURL
			}
			if cr.DeviceID != "" {
				sc.DeviceID = cr.DeviceID
			}
			if cr.Username != "" {
				sc.Username, sc.Password = cr.Username, cr.Password
			}
			if sc.TLS, err = cr.TLSConfig(); err != nil {
				return nil, fmt.Errorf("cloud.credentials_dir: %w", err)
			}
		case errors.Is(err, os.ErrNotExist):
			log.Warn("no enrolled credentials yet", "dir", cc.CredentialsDir)
		default:
			return nil, fmt.Errorf("cloud.credentials_dir: %w", err)
		}
	}
	if sc.BrokerURL == "" {
		return nil, nil
	}
	if cc.PasswordFile != "" {
		b, err := os.ReadFile(cc.PasswordFile)
		if err != nil {
			return nil, fmt.Errorf("cloud.password_file: %w", err)
		}
		sc.Password = strings.TrimSpace(string(b))
	}
	if cc.CAFile != "" || cc.CertFile != "" {
		t := &tls.Config{MinVersion: tls.VersionTLS12}
		if cc.CAFile != "" {
			pem, err := os.ReadFile(cc.CAFile)
			if err != nil {
				return nil, fmt.Errorf("cloud.ca_file: %w", err)
			}
			t.RootCAs = x509.NewCertPool()
			if !t.RootCAs.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("cloud.ca_file %s: no PEM certificate", cc.CAFile)
			}
		}
		if cc.CertFile != "" {
			cert, err := tls.LoadX509KeyPair(cc.CertFile, cc.KeyFile)
			if err != nil {
				return nil, fmt.Errorf("cloud.cert_file: %w", err)
			}
			t.Certificates = []tls.Certificate{cert}
		}
		sc.TLS = t
	}
	return fsync.New(sc)
}

// assignHandler runs the cloud's commands the kiosk owns: assign_session
// (flow 3) queues a session under the cloud's id; the others belong to the
// OTA agent or the operator and are refused here. The cloud sends an
// assignment again until the kiosk answers; a repeat is answered
// "accepted" without a second session (the sync client answers a command
// id it has seen from memory, Kiosk.Assign skips a session id it queued
// or ran, or whose result is still in the outbox after a restart).
type assignHandler struct {
	k   *kiosk.Kiosk
	log *slog.Logger
}

func (h assignHandler) HandleCommand(ctx context.Context, id string, cmd *proto.Command) proto.CommandResponse {
	r := proto.CommandResponse{Of: id}
	if cmd.Kind != proto.CommandAssignSession {
		r.Status, r.Error = "refused", fmt.Sprintf("command %q is not handled by the kiosk loop", cmd.Kind)
		return r
	}
	var a proto.AssignSessionArgs
	if err := json.Unmarshal(cmd.Args, &a); err != nil || a.SessionID == "" {
		r.Status, r.Error = "refused", "assign_session needs args.session_id"
		return r
	}
	if !h.k.Assign(a.SessionID) {
		r.Status, r.Error = "refused", "the kiosk's assignment queue is full"
		return r
	}
	h.log.Info("assigned session queued", "session_id", a.SessionID)
	r.Status = "accepted"
	return r
}
