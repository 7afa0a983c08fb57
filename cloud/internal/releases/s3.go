package releases

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Environment variables holding the object store's credentials (never flags).
const (
	EnvS3AccessKey = "LIVEGATE_OTA_S3_ACCESS_KEY"
	EnvS3SecretKey = "LIVEGATE_OTA_S3_SECRET_KEY"
)

// S3Config configures S3Blobs.
type S3Config struct {
	// Endpoint is the object store's URL: https://host[:port], or
	// http://host:port only when host is a loopback address or localhost.
	// A bare host[:port] means https. Required.
	Endpoint string
	// Bucket must exist. Required.
	Bucket string
	// Prefix is put before every key (e.g. "ota/" stores
	// ota/rel_….artifact). Optional.
	Prefix string
	// AccessKey and SecretKey (from EnvS3AccessKey and EnvS3SecretKey).
	// Required.
	AccessKey, SecretKey string
	// Region. Optional. Default: us-east-1 (no location lookup).
	Region string
	// Transport, e.g. to trust a private CA. Optional. Default: the
	// client's own.
	Transport http.RoundTripper
	// MaxRetries per request. Optional. Default: 3.
	MaxRetries int
	// PartSize of multipart uploads (at least 5 MiB); larger files are
	// sent in parts. Optional. Default: the client's (16 MiB or more).
	PartSize uint64
}

// ParseStore parses the --ota-store value: "" or "disk" (the data
// directory) gives ok false; "s3://bucket[/prefix]" gives the bucket and
// the prefix (ending in "/" when not empty).
func ParseStore(s string) (bucket, prefix string, ok bool, err error) {
	if s == "" || s == "disk" {
		return "", "", false, nil
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "s3" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", "", false, fmt.Errorf("releases: store %q: want disk or s3://bucket[/prefix]", s)
	}
	prefix = strings.Trim(u.Path, "/")
	if prefix != "" {
		prefix += "/"
	}
	return u.Host, prefix, true, nil
}

// S3Blobs keeps artifacts in an S3-compatible object store (AWS S3,
// MinIO, Ceph RGW, Garage, …) with github.com/minio/minio-go/v7.
type S3Blobs struct {
	c      *minio.Client
	cfg    S3Config
	secure bool
}

var _ Blobs = (*S3Blobs)(nil)

// NewS3Blobs checks cfg and returns the store; it does not contact it
// (see Check).
func NewS3Blobs(cfg S3Config) (*S3Blobs, error) {
	if cfg.Bucket == "" {
		return nil, errors.New("releases: s3: a bucket is required")
	}
	if cfg.AccessKey == "" || cfg.SecretKey == "" {
		return nil, fmt.Errorf("releases: s3: set %s and %s", EnvS3AccessKey, EnvS3SecretKey)
	}
	host, secure, err := s3Endpoint(cfg.Endpoint)
	if err != nil {
		return nil, err
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.MaxRetries <= 0 {
		cfg.MaxRetries = 3
	}
	c, err := minio.New(host, &minio.Options{
		Creds: credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""), Secure: secure,
		Region: cfg.Region, Transport: cfg.Transport, MaxRetries: cfg.MaxRetries,
	})
	if err != nil {
		return nil, fmt.Errorf("releases: s3 %s: %w", cfg.Endpoint, err)
	}
	return &S3Blobs{c: c, cfg: cfg, secure: secure}, nil
}

// s3Endpoint returns host[:port] and whether to use HTTPS: plain HTTP only
// to a loopback address or localhost.
func s3Endpoint(ep string) (string, bool, error) {
	if ep == "" {
		return "", false, errors.New("releases: s3: an endpoint is required (--ota-s3-endpoint)")
	}
	if !strings.Contains(ep, "://") {
		ep = "https://" + ep
	}
	u, err := url.Parse(ep)
	if err != nil || u.Host == "" || (u.Path != "" && u.Path != "/") || u.User != nil {
		return "", false, fmt.Errorf("releases: s3 endpoint %q: want https://host[:port]", ep)
	}
	switch u.Scheme {
	case "https":
		return u.Host, true, nil
	case "http":
		if h := u.Hostname(); h == "localhost" || net.ParseIP(h) != nil && net.ParseIP(h).IsLoopback() {
			return u.Host, false, nil
		}
		return "", false, fmt.Errorf("releases: s3 endpoint %q: plain http only to a loopback address; use https", ep)
	}
	return "", false, fmt.Errorf("releases: s3 endpoint %q: want https://host[:port]", ep)
}

// String implements Blobs.
func (s *S3Blobs) String() string {
	scheme := "https"
	if !s.secure {
		scheme = "http"
	}
	return fmt.Sprintf("s3://%s/%s at %s://%s", s.cfg.Bucket, s.cfg.Prefix, scheme, s.c.EndpointURL().Host)
}

func (s *S3Blobs) object(key string) string { return path.Join(s.cfg.Prefix, key) }

// Check reports whether the bucket exists and answers.
func (s *S3Blobs) Check(ctx context.Context) error {
	ok, err := s.c.BucketExists(ctx, s.cfg.Bucket)
	if err != nil {
		return s.err("check bucket", s.cfg.Bucket, err)
	}
	if !ok {
		return fmt.Errorf("releases: %s: the bucket does not exist", s)
	}
	return nil
}

// err classifies an object store error: a missing object wraps
// ErrNotFound, anything else ErrStoreUnavailable.
func (s *S3Blobs) err(op, key string, err error) error {
	if err == nil {
		return nil
	}
	if code := minio.ToErrorResponse(err).Code; code == minio.NoSuchKey || code == "NotFound" {
		return fmt.Errorf("releases: %s %s: %w", op, key, ErrNotFound)
	}
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("releases: %s %s: %w", op, key, err)
	}
	return fmt.Errorf("releases: %s %s in %s: %w: %w", op, key, s, ErrStoreUnavailable, err)
}

// Put implements Blobs: one PUT (multipart above the client's part size;
// an object appears only when complete, so a failed Put leaves none).
func (s *S3Blobs) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	_, err := s.c.PutObject(ctx, s.cfg.Bucket, s.object(key), r, size,
		minio.PutObjectOptions{ContentType: "application/octet-stream", PartSize: s.cfg.PartSize})
	return s.err("store", key, err)
}

// Open implements Blobs: a ranged GET, sent before Open returns so that a
// missing object or a store that does not answer is an error here.
func (s *S3Blobs) Open(ctx context.Context, key string, off, n int64) (io.ReadCloser, error) {
	var o minio.GetObjectOptions
	if err := o.SetRange(off, off+n-1); err != nil {
		return nil, fmt.Errorf("releases: open %s: %w", key, err)
	}
	// minio.Core sends the request now (Client.GetObject defers it to the
	// first Read, and its Stat drops the Range).
	body, info, _, err := minio.Core{Client: s.c}.GetObject(ctx, s.cfg.Bucket, s.object(key), o)
	if err != nil {
		return nil, s.err("open", key, err)
	}
	if info.Size != n {
		body.Close()
		return nil, fmt.Errorf("releases: open %s in %s: %w: %d bytes for a %d-byte range", key, s, ErrStoreUnavailable, info.Size, n)
	}
	return readCloser{&s3Reader{r: body, s: s, key: key}, body}, nil
}

type s3Reader struct {
	r   io.Reader
	s   *S3Blobs
	key string
}

func (r *s3Reader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF {
		err = r.s.err("read", r.key, err)
	}
	return n, err
}

// Stat implements Blobs.
func (s *S3Blobs) Stat(ctx context.Context, key string) (int64, error) {
	info, err := s.c.StatObject(ctx, s.cfg.Bucket, s.object(key), minio.StatObjectOptions{})
	if err != nil {
		return 0, s.err("stat", key, err)
	}
	return info.Size, nil
}

// Delete implements Blobs.
func (s *S3Blobs) Delete(ctx context.Context, key string) error {
	err := s.c.RemoveObject(ctx, s.cfg.Bucket, s.object(key), minio.RemoveObjectOptions{})
	if err != nil && minio.ToErrorResponse(err).Code == minio.NoSuchKey {
		return nil
	}
	return s.err("delete", key, err)
}
