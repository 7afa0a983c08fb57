package releases

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"livegate.dev/cloud/internal/clock"
	"livegate.dev/ota/artifact"
	"livegate.dev/ota/sign"
)

// DefaultMaxArtifactSize is the largest artifact accepted by default.
const DefaultMaxArtifactSize int64 = 512 << 20

// Config configures a Service.
type Config struct {
	// DataDir holds the payloads, in DataDir/releases/. Required.
	DataDir string
	// Repo keeps the metadata. Required.
	Repo Repo
	// Roots are the trusted root public keys: an upload must be signed by a
	// signing key one of them certified. Required.
	Roots []ed25519.PublicKey
	// Notifier sends the update command to a device. Required for rollouts.
	Notifier Notifier
	// Devices lists the fleet. Required for rollouts.
	Devices Devices
	// ArtifactURL returns the URL devices download a release from.
	// Optional. Default: "/api/v1/releases/<id>/artifact" (relative).
	ArtifactURL func(releaseID string) string
	// MaxArtifactSize bounds an upload. Optional. Default: DefaultMaxArtifactSize.
	MaxArtifactSize int64
	// Clock. Optional. Default: clock.Real.
	Clock clock.Clock
	// Logger. Optional. Default: slog.Default().
	Logger *slog.Logger
}

func (c *Config) defaults() {
	if c.ArtifactURL == nil {
		c.ArtifactURL = func(id string) string { return "/api/v1/releases/" + id + "/artifact" }
	}
	if c.MaxArtifactSize <= 0 {
		c.MaxArtifactSize = DefaultMaxArtifactSize
	}
	if c.Clock == nil {
		c.Clock = clock.Real{}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Service stores releases and runs rollouts.
type Service struct {
	cfg   Config
	dir   string
	trust *sign.Trust
}

// New returns a Service; it creates DataDir/releases/ and removes what a
// crash during an upload left: temporary files, and artifact files whose
// metadata was never stored.
func New(cfg Config) (*Service, error) {
	cfg.defaults()
	if cfg.DataDir == "" || cfg.Repo == nil {
		return nil, errors.New("releases: DataDir and Repo are required")
	}
	trust, err := sign.NewTrust(cfg.Roots, cfg.Clock.Now)
	if err != nil {
		return nil, fmt.Errorf("releases: %w", err)
	}
	dir := filepath.Join(cfg.DataDir, "releases")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("releases: create %s: %w", dir, err)
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, ".upload-*"))
	for _, f := range leftovers {
		os.Remove(f)
	}
	// A crash between the rename and the metadata write leaves a file no
	// release names: remove it (uploading it again recreates both). Only
	// files older than an hour: a replica sharing the directory may be
	// between those two steps right now.
	files, _ := filepath.Glob(filepath.Join(dir, "*.artifact"))
	for _, f := range files {
		id := strings.TrimSuffix(filepath.Base(f), ".artifact")
		if fi, err := os.Stat(f); err != nil || cfg.Clock.Now().Sub(fi.ModTime()) < time.Hour {
			continue
		}
		if _, err := cfg.Repo.GetRelease(context.Background(), id); errors.Is(err, ErrNotFound) {
			cfg.Logger.Warn("releases: removing an artifact without metadata", slog.String("file", f))
			os.Remove(f)
		}
	}
	return &Service{cfg: cfg, dir: dir, trust: trust}, nil
}

func (s *Service) path(id string) string { return filepath.Join(s.dir, id+".artifact") }

// Upload reads an artifact from r, verifies it completely (signature chain
// against the trusted roots, manifest, payload size and SHA-256, end of
// archive, no trailing bytes) and only then stores it. A refusal wraps the
// artifact package's error (artifact.Reason gives its code); ErrTooLarge
// and ErrExists are the other refusals.
func (s *Service) Upload(ctx context.Context, r io.Reader) (*Release, error) {
	tmp, err := os.CreateTemp(s.dir, ".upload-*")
	if err != nil {
		return nil, fmt.Errorf("releases: upload: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	h := sha256.New()
	lim := &io.LimitedReader{R: r, N: s.cfg.MaxArtifactSize + 1}
	in := io.TeeReader(lim, io.MultiWriter(tmp, h))
	ar, err := artifact.OpenAnyTarget(in, s.trust)
	if err != nil {
		return nil, s.uploadErr(lim, err)
	}
	if _, err := io.Copy(io.Discard, ar); err != nil {
		return nil, s.uploadErr(lim, err)
	}
	if n, err := io.Copy(io.Discard, in); err != nil || n > 0 {
		if err == nil {
			err = fmt.Errorf("artifact: %w: %d bytes after the end of the archive", artifact.ErrMalformed, n)
		}
		return nil, s.uploadErr(lim, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	size, err := tmp.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil, fmt.Errorf("releases: upload: %w", err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	rel := &Release{
		ID: "rel_" + sum[:16], Manifest: *ar.Manifest, SigningKeyID: ar.Check.Key.KeyID,
		Size: size, SHA256: sum, UploadedAt: s.cfg.Clock.Now().UTC(),
	}
	if _, err := s.cfg.Repo.GetRelease(ctx, rel.ID); err == nil {
		return nil, fmt.Errorf("releases: upload %s %s: %w", rel.Manifest.Kind, rel.Manifest.Version, ErrExists)
	}
	if err := tmp.Sync(); err != nil {
		return nil, fmt.Errorf("releases: upload: sync: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("releases: upload: close: %w", err)
	}
	if err := os.Rename(tmp.Name(), s.path(rel.ID)); err != nil {
		return nil, fmt.Errorf("releases: upload: %w", err)
	}
	committed = true
	if err := syncDir(s.dir); err != nil {
		os.Remove(s.path(rel.ID))
		return nil, fmt.Errorf("releases: upload: %w", err)
	}
	if err := s.cfg.Repo.CreateRelease(ctx, rel); err != nil {
		os.Remove(s.path(rel.ID))
		return nil, fmt.Errorf("releases: upload: %w", err)
	}
	s.cfg.Logger.Info("release uploaded", slog.String("release_id", rel.ID), slog.String("kind", string(rel.Manifest.Kind)),
		slog.String("version", rel.Manifest.Version), slog.Int64("size", rel.Size), slog.String("signing_key_id", rel.SigningKeyID))
	return rel, nil
}

func (s *Service) uploadErr(lim *io.LimitedReader, err error) error {
	if lim.N <= 0 {
		return fmt.Errorf("releases: upload: %w (%d bytes)", ErrTooLarge, s.cfg.MaxArtifactSize)
	}
	return fmt.Errorf("releases: upload refused (%s): %w", artifact.Reason(err), err)
}

// syncDir fsyncs a directory so a rename in it is durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// Get returns a release.
func (s *Service) Get(ctx context.Context, id string) (*Release, error) {
	return s.cfg.Repo.GetRelease(ctx, id)
}

// List returns every release, newest first.
func (s *Service) List(ctx context.Context) ([]*Release, error) {
	return s.cfg.Repo.ListReleases(ctx)
}

// Delete removes a release and its file; ErrInUse while a rollout of it runs.
func (s *Service) Delete(ctx context.Context, id string) error {
	ros, err := s.cfg.Repo.ListRollouts(ctx)
	if err != nil {
		return err
	}
	for _, ro := range ros {
		if ro.ReleaseID == id && ro.State == RolloutRunning {
			return fmt.Errorf("releases: delete %s: %w (%s)", id, ErrInUse, ro.ID)
		}
	}
	if err := s.cfg.Repo.DeleteRelease(ctx, id); err != nil {
		return err
	}
	if err := os.Remove(s.path(id)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("releases: delete %s: %w", id, err)
	}
	return syncDir(s.dir)
}

// Open opens a release's artifact file for reading (the caller closes it).
func (s *Service) Open(ctx context.Context, id string) (*os.File, *Release, error) {
	if strings.ContainsAny(id, `/\.`) {
		return nil, nil, fmt.Errorf("releases: %q: %w", id, ErrNotFound)
	}
	rel, err := s.cfg.Repo.GetRelease(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	f, err := os.Open(s.path(id))
	if err != nil {
		return nil, nil, fmt.Errorf("releases: open %s: %w", id, err)
	}
	return f, rel, nil
}
