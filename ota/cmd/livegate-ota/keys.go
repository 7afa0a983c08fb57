package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"livegate.dev/ota/sign"
)

func keygenCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "keygen", Short: "Make a root key or a signing key"}
	var force bool
	cmd.PersistentFlags().BoolVar(&force, "force", false, "overwrite existing files")

	var rootOut string
	rootCmd := &cobra.Command{
		Use:   "root",
		Short: "Make an offline root key: PREFIX.key (0600) and PREFIX.pub (bake into firmware)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := noClobber(force, rootOut+".key", rootOut+".pub"); err != nil {
				return err
			}
			k, err := sign.GenerateRootKey()
			if err != nil {
				return err
			}
			if err := sign.WritePrivateFile(rootOut+".key", k.MarshalPEM()); err != nil {
				return err
			}
			if err := sign.WritePublicFile(rootOut+".pub", sign.MarshalRootPublic(k.Public())); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "root key %s: %s.key (keep offline), %s.pub\n", k.ID(), rootOut, rootOut)
			return nil
		},
	}
	rootCmd.Flags().StringVarP(&rootOut, "out", "o", "root", "output path prefix")

	var (
		sOut, sRoot, notBefore string
		serial                 uint64
		validFor               time.Duration
	)
	signingCmd := &cobra.Command{
		Use:   "signing",
		Short: "Make a signing key certified by a root key: PREFIX.key (0600) and PREFIX.cert",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := noClobber(force, sOut+".key", sOut+".cert"); err != nil {
				return err
			}
			root, err := readRootKey(sRoot)
			if err != nil {
				return err
			}
			from := time.Now()
			if notBefore != "" {
				if from, err = time.Parse(time.RFC3339, notBefore); err != nil {
					return fmt.Errorf("--not-before: %w", err)
				}
			}
			if serial == 0 {
				return errors.New("--serial is required and must be positive (increase it with every new signing key)")
			}
			k, err := sign.GenerateSigningKey()
			if err != nil {
				return err
			}
			cert, err := root.Certify(k.Public(), serial, from, from.Add(validFor))
			if err != nil {
				return err
			}
			cb, err := sign.MarshalEnvelope(cert)
			if err != nil {
				return err
			}
			if err := sign.WritePrivateFile(sOut+".key", k.MarshalPEM()); err != nil {
				return err
			}
			if err := sign.WritePublicFile(sOut+".cert", cb); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "signing key %s serial %d, valid %s to %s, certified by root %s\n",
				k.ID(), serial, from.UTC().Format(time.RFC3339), from.Add(validFor).UTC().Format(time.RFC3339), root.ID())
			return nil
		},
	}
	signingCmd.Flags().StringVarP(&sOut, "out", "o", "signing", "output path prefix")
	signingCmd.Flags().StringVar(&sRoot, "root", "root.key", "root private key that certifies it")
	signingCmd.Flags().Uint64Var(&serial, "serial", 0, "serial number of this signing key (required)")
	signingCmd.Flags().DurationVar(&validFor, "valid-for", 90*24*time.Hour, "validity period")
	signingCmd.Flags().StringVar(&notBefore, "not-before", "", "start of validity (RFC 3339; default now)")
	cmd.AddCommand(rootCmd, signingCmd)
	return cmd
}

func revokeCmd(g *globals) *cobra.Command {
	var (
		rootPath, from, out string
		serial              uint64
		reason              string
	)
	cmd := &cobra.Command{
		Use:   "revoke KEY_ID...",
		Short: "Sign a revocation list naming signing keys that must no longer be trusted",
		Long: "Writes a root-signed revocation list: the entries of --from (if given) plus the key ids named.\n" +
			"The serial must be higher than any list published before; devices keep the highest they have seen.",
		Args: cobra.MinimumNArgs(0),
		RunE: func(cmd *cobra.Command, ids []string) error {
			root, err := readRootKey(rootPath)
			if err != nil {
				return err
			}
			l := sign.RevocationList{Serial: serial, Issued: time.Now().UTC().Truncate(time.Second)}
			if from != "" {
				prev, err := readEnvelope(from)
				if err != nil {
					return err
				}
				var pl sign.RevocationList
				if err := sign.DecodeStrict(prev.Body, &pl); err != nil {
					return fmt.Errorf("%s: %w", from, err)
				}
				if serial <= pl.Serial {
					return fmt.Errorf("--serial %d must be higher than %d in %s", serial, pl.Serial, from)
				}
				l.Revoked = pl.Revoked
			}
			for _, id := range ids {
				l.Revoked = append(l.Revoked, sign.RevokedKey{KeyID: id, Reason: reason})
			}
			env, err := root.SignRevocations(l)
			if err != nil {
				return err
			}
			b, err := sign.MarshalEnvelope(env)
			if err != nil {
				return err
			}
			if err := sign.WritePublicFile(out, b); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "revocation list %d: %d key(s) revoked, signed by root %s\n", serial, len(l.Revoked), root.ID())
			return nil
		},
	}
	cmd.Flags().StringVar(&rootPath, "root", "root.key", "root private key")
	cmd.Flags().StringVar(&from, "from", "", "previous revocation list to extend")
	cmd.Flags().Uint64Var(&serial, "serial", 0, "serial of the new list (required, increasing)")
	cmd.Flags().StringVar(&reason, "reason", "rotated", "reason recorded for the keys named")
	cmd.Flags().StringVarP(&out, "out", "o", "revocations.json", "output file")
	cmd.MarkFlagRequired("serial")
	return cmd
}

func noClobber(force bool, paths ...string) error {
	if force {
		return nil
	}
	for _, p := range paths {
		if _, err := os.Stat(p); err == nil {
			return fmt.Errorf("%s exists (use --force to overwrite)", p)
		}
	}
	return nil
}

func readRootKey(path string) (*sign.RootKey, error) {
	b, err := sign.ReadPrivateFile(path)
	if err != nil {
		return nil, err
	}
	return sign.ParseRootKey(b)
}

func readEnvelope(path string) (*sign.Envelope, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	e, err := sign.ParseEnvelope(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return e, nil
}

func readTrust(g *globals, rootsPath, revocations string) (*sign.Trust, error) {
	b, err := os.ReadFile(rootsPath)
	if err != nil {
		return nil, fmt.Errorf("root public keys: %w", err)
	}
	pubs, err := sign.ParseRootPublic(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", rootsPath, err)
	}
	now, err := g.clock()
	if err != nil {
		return nil, err
	}
	tr, err := sign.NewTrust(pubs, now)
	if err != nil {
		return nil, err
	}
	if revocations != "" {
		env, err := readEnvelope(revocations)
		if err != nil {
			return nil, err
		}
		if _, err := tr.SetRevocations(env); err != nil {
			return nil, fmt.Errorf("%s: %w", revocations, err)
		}
	}
	return tr, nil
}

func printJSON(cmd *cobra.Command, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(cmd.OutOrStdout(), strings.TrimSpace(string(b)))
	return err
}
