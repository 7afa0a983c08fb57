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
	"livegate.dev/cloud/internal/fleet/resend"
	"livegate.dev/ota/artifact"
	"livegate.dev/ota/sign"
)

// DefaultMaxArtifactSize is the largest artifact accepted by default.
const DefaultMaxArtifactSize int64 = 512 << 20

// Defaults of the update commands' lifetime and repeats (Config).
const (
	// DefaultCommandTTL: a kiosk switched off for a long weekend still
	// gets the command when it comes back.
	DefaultCommandTTL = 72 * time.Hour
	// DefaultResendAfter and DefaultMaxResendAfter: 5 min, 10, 20, 40,
	// 80, then every 2 h (about 40 repeats over DefaultCommandTTL for a
	// device that never answers).
	// (resend.Backoff's defaults, the schedule of every repeated command).
	DefaultResendAfter    = resend.DefaultFirst
	DefaultMaxResendAfter = resend.DefaultMax
)

// Config configures a Service.
type Config struct {
	// DataDir holds the payloads, in DataDir/releases/ (with Blobs set:
	// only uploads being verified). Required.
	DataDir string
	// Blobs keeps the verified artifact files. Optional. Default:
	// DiskBlobs in DataDir/releases/.
	Blobs Blobs
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
	// CommandTTL is how long an update command stays valid: a device that
	// gets it later refuses it. A told device that has not answered when
	// its command expires can no longer act on it and is marked failed.
	// Optional. Default: DefaultCommandTTL.
	CommandTTL time.Duration
	// ResendAfter is how long a told device may stay silent before its
	// update command is sent again (same message id; then twice as long
	// after each repeat, up to MaxResendAfter), besides the repeat when
	// its session comes online (DeviceOnline). Optional. Default:
	// DefaultResendAfter.
	ResendAfter time.Duration
	// MaxResendAfter caps the growing wait between repeats. Optional.
	// Default: DefaultMaxResendAfter.
	MaxResendAfter time.Duration
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
	if c.CommandTTL <= 0 {
		c.CommandTTL = DefaultCommandTTL
	}
	if c.ResendAfter <= 0 {
		c.ResendAfter = DefaultResendAfter
	}
	if c.MaxResendAfter < c.ResendAfter {
		c.MaxResendAfter = max(DefaultMaxResendAfter, c.ResendAfter)
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
	dir   string // staging: uploads are verified here before Blobs gets them
	blobs Blobs
	trust *sign.Trust
}

// New returns a Service; it creates DataDir/releases/ and removes what a
// crash during an upload left: temporary files, and (on disk) artifact
// files whose metadata was never stored.
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
	if cfg.Blobs != nil {
		// An object store: a crash between its Put and the metadata
		// write leaves an object no release names; uploading the same
		// file again writes the same key.
		return &Service{cfg: cfg, dir: dir, blobs: cfg.Blobs, trust: trust}, nil
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
	return &Service{cfg: cfg, dir: dir, blobs: DiskBlobs{Dir: dir}, trust: trust}, nil
}

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
	if err := s.store(ctx, tmp, rel); err != nil {
		return nil, err
	}
	committed = true
	if err := s.cfg.Repo.CreateRelease(ctx, rel); err != nil {
		s.blobs.Delete(context.WithoutCancel(ctx), artifactKey(rel.ID))
		return nil, fmt.Errorf("releases: upload: %w", err)
	}
	s.cfg.Logger.Info("release uploaded", slog.String("release_id", rel.ID), slog.String("kind", string(rel.Manifest.Kind)),
		slog.String("version", rel.Manifest.Version), slog.Int64("size", rel.Size), slog.String("signing_key_id", rel.SigningKeyID))
	return rel, nil
}

// store hands the verified temporary file to the Blobs: the disk store
// renames it into place, another store reads it (and the file is removed).
// tmp is closed either way.
func (s *Service) store(ctx context.Context, tmp *os.File, rel *Release) error {
	key := artifactKey(rel.ID)
	if fp, ok := s.blobs.(filePutter); ok {
		if err := tmp.Sync(); err != nil {
			return fmt.Errorf("releases: upload: sync: %w", err)
		}
		if err := tmp.Close(); err != nil {
			return fmt.Errorf("releases: upload: close: %w", err)
		}
		if err := fp.PutFile(ctx, key, tmp.Name()); err != nil {
			return fmt.Errorf("releases: upload: %w", err)
		}
		return nil
	}
	defer func() {
		tmp.Close()
		os.Remove(tmp.Name())
	}()
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("releases: upload: %w", err)
	}
	if err := s.blobs.Put(ctx, key, tmp, rel.Size); err != nil {
		return fmt.Errorf("releases: upload: %w", err)
	}
	// The stored size must be the verified one (a proxy that cut the
	// body would otherwise go unnoticed until devices fail their check).
	if n, err := s.blobs.Stat(ctx, key); err != nil || n != rel.Size {
		s.blobs.Delete(context.WithoutCancel(ctx), key)
		if err == nil {
			err = fmt.Errorf("%w: stored %d bytes of %d", ErrStoreUnavailable, n, rel.Size)
		}
		return fmt.Errorf("releases: upload: %w", err)
	}
	return nil
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
// A file the store fails to remove is logged, not an error.
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
	// The release is gone once its metadata is: a file the store could
	// not remove now is only logged (uploading the same artifact again
	// writes the same key).
	if err := s.blobs.Delete(ctx, artifactKey(id)); err != nil {
		s.cfg.Logger.Warn("releases: artifact file not removed", slog.String("release_id", id), slog.Any("error", err))
	}
	return nil
}

// Open opens n bytes of a release's artifact file from offset off (the
// caller closes it); n < 0 reads to the end. ErrNotFound for an unknown
// release; ErrStoreUnavailable when the object store does not answer.
func (s *Service) Open(ctx context.Context, id string, off, n int64) (io.ReadCloser, *Release, error) {
	if !validID(id) {
		return nil, nil, fmt.Errorf("releases: %q: %w", id, ErrNotFound)
	}
	rel, err := s.cfg.Repo.GetRelease(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	if n < 0 {
		n = rel.Size - off
	}
	if off < 0 || n <= 0 || off+n > rel.Size {
		return nil, nil, fmt.Errorf("releases: open %s: %w: bytes %d+%d of %d", id, ErrInvalid, off, n, rel.Size)
	}
	rc, err := s.blobs.Open(ctx, artifactKey(id), off, n)
	if err != nil {
		return nil, nil, err
	}
	return rc, rel, nil
}
