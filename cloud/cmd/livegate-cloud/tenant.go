package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/cobra"
	bberrors "go.etcd.io/bbolt/errors"

	"livegate.dev/cloud/internal/api"
	"livegate.dev/cloud/internal/api/apierr"
	"livegate.dev/cloud/internal/api/daemon"
	"livegate.dev/cloud/internal/api/tenancy"
	"livegate.dev/cloud/internal/core"
	"livegate.dev/cloud/internal/secret"
	"livegate.dev/cloud/internal/store/bolt"
)

// tenantCmd works directly on the bbolt file, for when the server is down
// (bbolt allows one process at a time: with the server running, use the
// admin API).
func tenantCmd() *cobra.Command {
	var dataDir string
	cmd := &cobra.Command{
		Use:   "tenant",
		Short: "Manage tenants offline, on the bbolt file of a stopped server",
	}
	cmd.PersistentFlags().StringVar(&dataDir, "data", "./data", "data directory of the server (env LIVEGATE_DATA)")

	with := func(fn func(ctx context.Context, t *tenancy.Service) (any, error)) func(*cobra.Command, []string) error {
		return func(c *cobra.Command, _ []string) error {
			if err := bindEnv(c.Flags()); err != nil {
				return err
			}
			o := daemon.Options{DataDir: dataDir, MasterKeyHex: os.Getenv("LIVEGATE_MASTER_KEY")}
			master, err := daemon.MasterKey(o)
			if err != nil {
				return err
			}
			sealer, err := secret.New(master)
			if err != nil {
				return err
			}
			st, err := bolt.Open(dataDir, bolt.Options{LockTimeout: time.Second})
			if errors.Is(err, bberrors.ErrTimeout) {
				return fmt.Errorf("%s is locked: is livegate-cloud serve running on it? Use the admin API instead", dataDir)
			}
			if err != nil {
				return err
			}
			defer st.Close()
			out, err := fn(c.Context(), tenancy.New(st, sealer, nil))
			if err != nil {
				return err
			}
			enc := json.NewEncoder(c.OutOrStdout())
			enc.SetIndent("", "  ")
			return enc.Encode(out)
		}
	}

	var name, mode string
	var scopes []string
	// keyScopes is the --scopes list: nil (every scope) unless given.
	keyScopes := func(c *cobra.Command) []string {
		if !c.Flags().Changed("scopes") {
			return nil
		}
		return append([]string{}, scopes...)
	}
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a tenant; prints its API key and webhook secret (shown once)",
		Args:  cobra.NoArgs,
	}
	create.RunE = with(func(ctx context.Context, t *tenancy.Service) (any, error) {
		sc := keyScopes(create)
		nt, err := t.CreateScoped(ctx, name, core.TenantMode(mode), sc)
		if err != nil {
			return nil, scopesFlagErr(err)
		}
		return api.TenantCreated{TenantID: nt.Tenant.ID, Name: nt.Tenant.Name, Mode: nt.Tenant.Mode, CreatedAt: nt.Tenant.CreatedAt,
			KeyID: nt.KeyID, APIKey: nt.APIKey, WebhookSecret: nt.WebhookSecret, Scopes: scopesOf(sc)}, nil
	})
	create.Flags().StringVar(&name, "name", "", "tenant name")
	create.Flags().StringVar(&mode, "mode", "test", "live or test")
	create.Flags().StringSliceVar(&scopes, "scopes", nil, scopesUsage+" of the tenant's first API key")
	_ = create.MarkFlagRequired("name")

	list := &cobra.Command{
		Use:   "list",
		Short: "List tenants",
		Args:  cobra.NoArgs,
		RunE: with(func(ctx context.Context, t *tenancy.Service) (any, error) {
			ts, err := t.List(ctx)
			if err != nil {
				return nil, err
			}
			out := []api.TenantView{}
			for _, x := range ts {
				out = append(out, api.ViewTenant(x))
			}
			return out, nil
		}),
	}

	var tenantID, keyID string
	var grace time.Duration
	rotate := &cobra.Command{
		Use:   "rotate-key",
		Short: "Add a new API key; current keys keep working for --grace",
		Args:  cobra.NoArgs,
	}
	rotate.RunE = with(func(ctx context.Context, t *tenancy.Service) (any, error) {
		key, k, err := t.RotateKeyScoped(ctx, tenantID, grace, keyScopes(rotate))
		if err != nil {
			return nil, scopesFlagErr(err)
		}
		return api.KeyRotated{KeyID: k.ID, APIKey: key, Prefix: k.Prefix, Mode: k.Mode, CreatedAt: k.CreatedAt,
			PreviousKeysExpireAt: k.CreatedAt.Add(grace), Scopes: scopesOf(k.Scopes)}, nil
	})
	rotate.Flags().StringVar(&tenantID, "tenant", "", "tenant id (ten_…)")
	rotate.Flags().DurationVar(&grace, "grace", 0, "how long the current keys keep working")
	rotate.Flags().StringSliceVar(&scopes, "scopes", nil, scopesUsage+" of the new API key")
	_ = rotate.MarkFlagRequired("tenant")

	revoke := &cobra.Command{
		Use:   "revoke-key",
		Short: "Revoke an API key now",
		Args:  cobra.NoArgs,
		RunE: with(func(ctx context.Context, t *tenancy.Service) (any, error) {
			k, err := t.RevokeKey(ctx, tenantID, keyID)
			if err != nil {
				return nil, err
			}
			return api.ViewKey(k, time.Now()), nil
		}),
	}
	revoke.Flags().StringVar(&tenantID, "tenant", "", "tenant id (ten_…)")
	revoke.Flags().StringVar(&keyID, "key", "", "key id (key_…)")
	_ = revoke.MarkFlagRequired("tenant")
	_ = revoke.MarkFlagRequired("key")

	var secretGrace time.Duration
	rotSecret := &cobra.Command{
		Use:   "rotate-webhook-secret",
		Short: "Make a new webhook signing secret; the old one signs too for --grace",
		Args:  cobra.NoArgs,
		RunE: with(func(ctx context.Context, t *tenancy.Service) (any, error) {
			sec, ten, err := t.RotateWebhookSecret(ctx, tenantID, secretGrace)
			if err != nil {
				return nil, err
			}
			created := ten.WebhookSecrets[0].CreatedAt
			return api.SecretRotated{WebhookSecret: sec, CreatedAt: created, PreviousExpiresAt: created.Add(secretGrace)}, nil
		}),
	}
	rotSecret.Flags().StringVar(&tenantID, "tenant", "", "tenant id (ten_…)")
	rotSecret.Flags().DurationVar(&secretGrace, "grace", 24*time.Hour, "how long the old secret keeps signing")
	_ = rotSecret.MarkFlagRequired("tenant")

	cmd.AddCommand(create, list, rotate, revoke, rotSecret)
	return cmd
}

// scopesUsage describes --scopes, as the admin API's "scopes" field.
var scopesUsage = "comma-separated scopes (" + strings.Join(core.Scopes, ", ") + "; default every scope)"

// scopesOf lists a key's scopes as the admin API shows them: every scope
// for a key made without a list.
func scopesOf(scopes []string) []string {
	if scopes == nil {
		return append([]string{}, core.Scopes...)
	}
	return append([]string{}, scopes...)
}

var scopesField = regexp.MustCompile(`field "scopes"(\[[0-9]+\])?`)

// scopesFlagErr names the --scopes flag where the service's message names
// the API's "scopes" field.
func scopesFlagErr(err error) error {
	if e, ok := apierr.As(err); ok && strings.Contains(e.Message, `field "scopes"`) {
		return errors.New(scopesField.ReplaceAllString(e.Message, "--scopes"))
	}
	return err
}
