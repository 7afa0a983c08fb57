package main

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"livegate.dev/ota/artifact"
	"livegate.dev/ota/download"
	"livegate.dev/ota/internal/atomicfile"
	"livegate.dev/ota/sign"
)

func signCmd(g *globals) *cobra.Command {
	var (
		keyPath, certPath, revPath, payloadPath, out string
		m                                            artifact.Manifest
		kind, notesFile                              string
	)
	cmd := &cobra.Command{
		Use:   "sign",
		Short: "Sign a payload into an artifact (manifest, signature, signing-key certificate, payload)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := sign.ReadPrivateFile(keyPath)
			if err != nil {
				return err
			}
			sk, err := sign.ParseSigningKey(b)
			if err != nil {
				return err
			}
			if sk.Cert, err = readEnvelope(certPath); err != nil {
				return err
			}
			var cb sign.CertBody
			if err := sign.DecodeStrict(sk.Cert.Body, &cb); err != nil {
				return fmt.Errorf("%s: %w", certPath, err)
			}
			if cb.KeyID != sk.ID() {
				return fmt.Errorf("%s certifies key %s, but %s is key %s", certPath, cb.KeyID, keyPath, sk.ID())
			}
			var rev *sign.Envelope
			if revPath != "" {
				if rev, err = readEnvelope(revPath); err != nil {
					return err
				}
			}
			if notesFile != "" {
				nb, err := os.ReadFile(notesFile)
				if err != nil {
					return err
				}
				m.Notes = string(nb)
			}
			now, err := g.clock()
			if err != nil {
				return err
			}
			m.Format, m.Kind, m.Created = artifact.ManifestFormat, artifact.Kind(kind), now().UTC().Truncate(time.Second)
			pf, err := os.Open(payloadPath)
			if err != nil {
				return err
			}
			defer pf.Close()
			st, err := pf.Stat()
			if err != nil {
				return err
			}
			bar := g.bar(cmd, st.Size(), "hashing")
			if m.PayloadSize, m.PayloadSHA256, err = artifact.HashPayload(io.TeeReader(pf, bar)); err != nil {
				return err
			}
			bar.Finish()
			if err := m.Validate(); err != nil {
				return err
			}
			if _, err := pf.Seek(0, io.SeekStart); err != nil {
				return err
			}
			bar = g.bar(cmd, m.PayloadSize, "writing")
			err = atomicfile.WriteFrom(out, 0o644, func(w io.Writer) error {
				return artifact.Write(w, &m, io.TeeReader(pf, bar), sk, rev)
			})
			if err != nil {
				return err
			}
			bar.Finish()
			fmt.Fprintf(cmd.OutOrStdout(), "signed %s %s (%d bytes, sha256 %s) with key %s serial %d: %s\n",
				m.Kind, m.Version, m.PayloadSize, m.PayloadSHA256, sk.ID(), cb.Serial, out)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&keyPath, "key", "signing.key", "signing private key")
	f.StringVar(&certPath, "cert", "signing.cert", "signing key certificate")
	f.StringVar(&revPath, "revocations", "", "revocation list to carry in the artifact")
	f.StringVar(&payloadPath, "payload", "", "payload file (rootfs image or model pack)")
	f.StringVarP(&out, "out", "o", "", "artifact file to write")
	f.StringVar(&kind, "kind", "", "firmware or models")
	f.StringVar(&m.Version, "version", "", "semantic version of this release")
	f.StringSliceVar(&m.Boards, "board", nil, "target board (repeatable)")
	f.StringSliceVar(&m.Archs, "arch", nil, "target architecture (repeatable)")
	f.StringVar(&m.MinVersion, "min-version", "0.0.0", "oldest running version that may install this")
	f.StringVar(&m.Notes, "notes", "", "release notes")
	f.StringVar(&notesFile, "notes-file", "", "read release notes from a file")
	for _, r := range []string{"payload", "out", "kind", "version", "board", "arch"} {
		cmd.MarkFlagRequired(r)
	}
	return cmd
}

// verifyFile opens the artifact at path and reads its payload through a
// progress bar; target nil checks signatures and payload only.
func verifyFile(g *globals, cmd *cobra.Command, path string, tr *sign.Trust, target *artifact.Target) (*artifact.Reader, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	var r *artifact.Reader
	if target != nil {
		r, err = artifact.Open(fh, tr, *target)
	} else {
		r, err = artifact.OpenAnyTarget(fh, tr)
	}
	if err != nil {
		return nil, refusalIf(err)
	}
	bar := g.bar(cmd, r.Manifest.PayloadSize, "verifying")
	if _, err := io.Copy(bar, r); err != nil {
		return nil, refusalIf(err)
	}
	bar.Finish()
	return r, nil
}

func verifyCmd(g *globals) *cobra.Command {
	var roots, revPath, kind, board, arch, current string
	cmd := &cobra.Command{
		Use:   "verify ARTIFACT",
		Short: "Verify an artifact as a device would; exit 2 with the reason if refused",
		Long: "Checks the signing key against the root public keys (validity window, revocation), the manifest\n" +
			"signature, and the payload's size and SHA-256. With --board the device checks run too: kind, board,\n" +
			"architecture, downgrade and minimum version (then --kind, --arch and --current are required).",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			tr, err := readTrust(g, roots, revPath)
			if err != nil {
				return err
			}
			var target *artifact.Target
			if board != "" {
				if kind == "" || arch == "" || current == "" {
					return errors.New("--board needs --kind, --arch and --current")
				}
				cur, err := artifact.ParseVersion(current)
				if err != nil {
					return fmt.Errorf("--current: %w", err)
				}
				target = &artifact.Target{Kind: artifact.Kind(kind), Board: board, Arch: arch, Current: cur}
			}
			r, err := verifyFile(g, cmd, args[0], tr, target)
			if err != nil {
				return err
			}
			scope := "signature and payload"
			if target != nil {
				scope += fmt.Sprintf(", and fits %s/%s %s running %s", board, arch, kind, current)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "OK %s %s: %s; signing key %s serial %d (root %s)\n",
				r.Manifest.Kind, r.Manifest.Version, scope, r.Check.Key.KeyID, r.Check.Key.Serial, r.Check.Root)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&roots, "roots", "root.pub", "trusted root public keys (PEM bundle)")
	f.StringVar(&revPath, "revocations", "", "newest revocation list known")
	f.StringVar(&kind, "kind", "", "device check: kind the installer takes")
	f.StringVar(&board, "board", "", "device check: board")
	f.StringVar(&arch, "arch", "", "device check: architecture")
	f.StringVar(&current, "current", "", "device check: running version")
	return cmd
}

func inspectCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "inspect ARTIFACT",
		Short: "Print an artifact's metadata as JSON, WITHOUT verifying it",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			fh, err := os.Open(args[0])
			if err != nil {
				return err
			}
			defer fh.Close()
			meta, err := artifact.Inspect(fh)
			if err != nil {
				return err
			}
			out := map[string]any{"verified": false, "manifest": meta.Manifest, "payload_entry_size": meta.PayloadSize}
			if meta.Signature != nil {
				out["signed_by"] = meta.Signature.KeyID
			}
			if meta.Cert != nil {
				var cb sign.CertBody
				if err := sign.DecodeStrict(meta.Cert.Body, &cb); err == nil {
					out["signing_key"] = map[string]any{"key_id": cb.KeyID, "serial": cb.Serial, "not_before": cb.NotBefore, "not_after": cb.NotAfter, "certified_by_root": meta.Cert.KeyID}
				}
			}
			if meta.Revocations != nil {
				var l sign.RevocationList
				if err := sign.DecodeStrict(meta.Revocations.Body, &l); err == nil {
					out["revocations"] = l
				}
			}
			return printJSON(cmd, out)
		},
	}
}

// Release is one entry of a release directory's index.json.
type Release struct {
	Kind          artifact.Kind `json:"kind"`
	Version       string        `json:"version"`
	File          string        `json:"file"`
	Size          int64         `json:"size"`
	SHA256        string        `json:"sha256"`
	PayloadSize   int64         `json:"payload_size"`
	PayloadSHA256 string        `json:"payload_sha256"`
	Boards        []string      `json:"boards"`
	Archs         []string      `json:"archs"`
	MinVersion    string        `json:"min_version"`
	SigningKey    string        `json:"signing_key"`
	Created       time.Time     `json:"created"`
	Published     time.Time     `json:"published"`
	Notes         string        `json:"notes,omitempty"`
}

// Index is a release directory's index.json.
type Index struct {
	Format   int       `json:"format"`
	Releases []Release `json:"releases"`
}

func publishCmd(g *globals) *cobra.Command {
	var roots, revPath, dir string
	cmd := &cobra.Command{
		Use:   "publish ARTIFACT",
		Short: "Verify an artifact and add it to a local release directory (DIR/KIND/VERSION.lgota + DIR/index.json)",
		Long: "Verifies the signature chain and payload, copies the artifact into the release directory\n" +
			"atomically and records it in index.json. To upload to the cloud's release store, use push.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			tr, err := readTrust(g, roots, revPath)
			if err != nil {
				return err
			}
			r, err := verifyFile(g, cmd, args[0], tr, nil)
			if err != nil {
				return err
			}
			m := r.Manifest
			idxPath := filepath.Join(dir, "index.json")
			idx := Index{Format: 1, Releases: []Release{}}
			if b, err := os.ReadFile(idxPath); err == nil {
				if err := sign.DecodeStrict(b, &idx); err != nil {
					return fmt.Errorf("%s: %w", idxPath, err)
				}
			} else if !errors.Is(err, os.ErrNotExist) {
				return err
			}
			rel := filepath.Join(string(m.Kind), m.Version+".lgota")
			dst := filepath.Join(dir, rel)
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return err
			}
			src, err := os.Open(args[0])
			if err != nil {
				return err
			}
			defer src.Close()
			st, err := src.Stat()
			if err != nil {
				return err
			}
			h := sha256.New()
			bar := g.bar(cmd, st.Size(), "publishing")
			var n int64
			for _, e := range idx.Releases {
				if e.Kind == m.Kind && e.Version == m.Version {
					return fmt.Errorf("%s %s is already published (%s); publish a new version instead", m.Kind, m.Version, e.File)
				}
			}
			err = atomicfile.WriteFrom(dst, 0o644, func(w io.Writer) error {
				var err error
				n, err = io.Copy(io.MultiWriter(w, h, bar), src)
				return err
			})
			if err != nil {
				return err
			}
			bar.Finish()
			now, _ := g.clock()
			idx.Releases = append(idx.Releases, Release{
				Kind: m.Kind, Version: m.Version, File: filepath.ToSlash(rel), Size: n, SHA256: hex.EncodeToString(h.Sum(nil)),
				PayloadSize: m.PayloadSize, PayloadSHA256: m.PayloadSHA256, Boards: m.Boards, Archs: m.Archs,
				MinVersion: m.MinVersion, SigningKey: r.Check.Key.KeyID, Created: m.Created,
				Published: now().UTC().Truncate(time.Second), Notes: m.Notes,
			})
			sort.SliceStable(idx.Releases, func(i, j int) bool {
				a, b := idx.Releases[i], idx.Releases[j]
				if a.Kind != b.Kind {
					return a.Kind < b.Kind
				}
				return artifact.MustVersion(a.Version).Compare(artifact.MustVersion(b.Version)) < 0
			})
			ib, err := json.MarshalIndent(idx, "", "  ")
			if err != nil {
				return err
			}
			if err := atomicfile.WriteFile(idxPath, append(ib, '\n'), 0o644); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "published %s %s to %s (%d bytes, sha256 %s)\n",
				m.Kind, m.Version, dst, n, hex.EncodeToString(h.Sum(nil)))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&roots, "roots", "root.pub", "trusted root public keys (PEM bundle)")
	f.StringVar(&revPath, "revocations", "", "newest revocation list known")
	f.StringVar(&dir, "dir", "releases", "release directory")
	return cmd
}

func fetchCmd(g *globals) *cobra.Command {
	var out, sum, ca string
	var size int64
	cmd := &cobra.Command{
		Use:   "fetch URL",
		Short: "Download an artifact resumably over HTTPS, checking its size and SHA-256 (as in index.json)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !strings.HasPrefix(args[0], "https://") {
				return errors.New("fetch takes https:// URLs only")
			}
			client := &http.Client{}
			if ca != "" {
				pemData, err := os.ReadFile(ca)
				if err != nil {
					return err
				}
				pool := x509.NewCertPool()
				if !pool.AppendCertsFromPEM(pemData) {
					return fmt.Errorf("%s: no certificate", ca)
				}
				client.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
			}
			bar := g.bar(cmd, size, "downloading")
			f := &download.Fetcher{Client: client, Progress: func(done, _ int64) { bar.Set64(done) }}
			if err := f.Fetch(cmd.Context(), args[0], out, size, sum); err != nil {
				return err
			}
			bar.Finish()
			fmt.Fprintf(cmd.OutOrStdout(), "fetched %s (%d bytes, sha256 %s)\n", out, size, sum)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&out, "out", "o", "", "destination file (a partial download is kept as FILE.part and resumed)")
	f.Int64Var(&size, "size", 0, "expected size in bytes")
	f.StringVar(&sum, "sha256", "", "expected SHA-256 (hex)")
	f.StringVar(&ca, "ca", "", "PEM file of the CA to trust instead of the system roots")
	for _, r := range []string{"out", "size", "sha256"} {
		cmd.MarkFlagRequired(r)
	}
	return cmd
}
