package releases

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"livegate.dev/cloud/internal/api"
	"livegate.dev/cloud/internal/api/daemon"
	"livegate.dev/ota/sign"
)

// HookOptions configures Hook.
type HookOptions struct {
	// DataDir is the daemon's data directory: payloads go to
	// DataDir/releases/, and with the bbolt store metadata to
	// DataDir/releases.db. Required.
	DataDir string
	// PostgresDSN, when set, keeps metadata in PostgreSQL (the daemon's
	// --postgres-dsn) instead of DataDir/releases.db. Optional.
	PostgresDSN string
	// RootsFile is a PEM bundle of trusted root public keys
	// (livegate-ota keygen root writes them). Required.
	RootsFile string
	// AdminToken is LIVEGATE_ADMIN_TOKEN. Optional (admin routes disabled without it).
	AdminToken string
	// Notifier sends update commands (the fleet, through a fleet.Link).
	// Optional: without it uploads and downloads work and starting a
	// rollout is refused.
	Notifier Notifier
	// Started, when set, is called with the Service once it is built,
	// before any route serves: hand it to the fleet (fleet.Link.SetListener)
	// so the devices' answers reach Service.CommandResponse and their
	// telemetry Service.Telemetry. Optional.
	Started func(*Service)
	// Devices lists the fleet. Optional. Default: StoreDevices on the
	// daemon's store, with the device facts (boards, labels) of this
	// package's repository.
	Devices Devices
	// Store is where artifact files go: "" or "disk" (DataDir/releases/),
	// or "s3://bucket[/prefix]" for an S3-compatible object store at
	// S3Endpoint, with the credentials from the environment
	// (EnvS3AccessKey, EnvS3SecretKey). Optional. Default: disk.
	Store string
	// S3Endpoint is the object store's URL (https, or http to loopback).
	// Required with an s3:// Store.
	S3Endpoint string
	// S3Region. Optional. Default: us-east-1.
	S3Region string
	// Getenv reads the credentials. Optional. Default: os.Getenv.
	Getenv func(string) string
	// MaxArtifactSize. Optional. Default: DefaultMaxArtifactSize.
	MaxArtifactSize int64
	// TickInterval of auto-advance and notify retries. Optional. Default: 30s.
	TickInterval time.Duration
}

// Hook returns a daemon.Options.Routes hook serving the release and rollout
// routes; it runs the rollout ticker until the daemon shuts down. The
// artifact URL sent to devices is the daemon's public URL plus
// /api/v1/releases/<id>/artifact.
func Hook(o HookOptions) func(p daemon.Parts) ([]api.Route, func() error, error) {
	return func(p daemon.Parts) ([]api.Route, func() error, error) {
		pem, err := os.ReadFile(o.RootsFile)
		if err != nil {
			return nil, nil, fmt.Errorf("releases: trusted roots: %w", err)
		}
		roots, err := sign.ParseRootPublic(pem)
		if err != nil {
			return nil, nil, fmt.Errorf("releases: trusted roots %s: %w", o.RootsFile, err)
		}
		blobs, err := o.blobs(p)
		if err != nil {
			return nil, nil, err
		}
		var repo Repo
		if o.PostgresDSN != "" {
			repo, err = OpenPostgres(context.Background(), o.PostgresDSN)
		} else {
			repo, err = OpenBolt(o.DataDir)
		}
		if err != nil {
			return nil, nil, err
		}
		if o.Devices == nil {
			o.Devices = StoreDevices{Store: p.Store, Facts: repo}
		}
		svc, err := New(Config{
			DataDir: o.DataDir, Blobs: blobs, Repo: repo, Roots: roots, Notifier: o.Notifier, Devices: o.Devices,
			ArtifactURL:     func(id string) string { return p.PublicURL + "/api/v1/releases/" + id + "/artifact" },
			MaxArtifactSize: o.MaxArtifactSize, Clock: p.Clock, Logger: p.Logger,
		})
		if err != nil {
			repo.Close()
			return nil, nil, err
		}
		if o.Started != nil {
			o.Started(svc)
		}
		tick := o.TickInterval
		if tick <= 0 {
			tick = 30 * time.Second
		}
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		if o.Notifier != nil && o.Devices != nil {
			wg.Add(1)
			go func() {
				defer wg.Done()
				svc.Run(ctx, tick)
			}()
		}
		closeFn := func() error {
			cancel()
			wg.Wait()
			return repo.Close()
		}
		return Routes(svc, RoutesOptions{AdminToken: o.AdminToken}), closeFn, nil
	}
}

// blobs builds the artifact store Store names (nil: the default disk).
// An object store whose bucket does not exist is an error; one that does
// not answer only a warning, so that an object store outage leaves the
// rest of the daemon serving (uploads and downloads answer
// release.store_unavailable until it is back).
func (o HookOptions) blobs(p daemon.Parts) (Blobs, error) {
	bucket, prefix, isS3, err := ParseStore(o.Store)
	if err != nil || !isS3 {
		return nil, err
	}
	getenv := o.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	b, err := NewS3Blobs(S3Config{Endpoint: o.S3Endpoint, Bucket: bucket, Prefix: prefix, Region: o.S3Region,
		AccessKey: getenv(EnvS3AccessKey), SecretKey: getenv(EnvS3SecretKey)})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	switch err := b.Check(ctx); {
	case errors.Is(err, ErrStoreUnavailable):
		p.Logger.Warn("releases: the artifact store does not answer yet", slog.String("store", b.String()), slog.Any("error", err))
	case err != nil:
		return nil, err
	default:
		p.Logger.Info("releases: artifacts in an object store", slog.String("store", b.String()))
	}
	return b, nil
}

// errNoFleet: rollouts without a Notifier and Devices.
var errNoFleet = errors.New("releases: rollouts need Config.Notifier and Config.Devices (the fleet)")
