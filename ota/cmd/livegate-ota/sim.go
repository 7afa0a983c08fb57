package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"

	"github.com/spf13/cobra"

	"livegate.dev/ota/artifact"
	"livegate.dev/ota/install"
)

type simFlags struct {
	root, roots, kind, board, arch, healthCmd string
}

func (f *simFlags) device(g *globals, cmd *cobra.Command) (*install.Device, *install.Sim, error) {
	layout, err := install.NewSim(f.root)
	if err != nil {
		return nil, nil, err
	}
	tr, err := readTrust(g, f.roots, "")
	if err != nil {
		return nil, nil, err
	}
	health := func(ctx context.Context, r install.Running) error {
		if f.healthCmd == "" {
			return fmt.Errorf("no --health-cmd given: cannot judge version %s", r.Version)
		}
		c := exec.CommandContext(ctx, "/bin/sh", "-c", f.healthCmd)
		c.Env = append(os.Environ(), "LIVEGATE_SLOT="+string(r.Slot), "LIVEGATE_SLOT_PATH="+r.Path, "LIVEGATE_VERSION="+r.Version)
		c.Stdout, c.Stderr = cmd.ErrOrStderr(), cmd.ErrOrStderr()
		if err := c.Run(); err != nil {
			return fmt.Errorf("health command: %w", err)
		}
		return nil
	}
	dev, err := install.New(install.Config{
		Layout: layout, Trust: tr, Kind: artifact.Kind(f.kind), Board: f.board, Arch: f.arch, Health: health,
		RevocationFile: filepath.Join(f.root, "revocations.json"),
		Logger:         g.logger(cmd),
	})
	return dev, layout, err
}

// simCmd drives a sim-board device directory: the same install.Device a
// kiosk runs, for trying releases on a workstation and for the benchmark.
func simCmd(g *globals) *cobra.Command {
	f := &simFlags{}
	cmd := &cobra.Command{
		Use:   "sim",
		Short: "Install to and boot a sim-board device directory (two slot directories and a boot pointer file)",
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&f.root, "root", "device", "device directory")
	pf.StringVar(&f.roots, "roots", "root.pub", "root public keys the device trusts")
	pf.StringVar(&f.kind, "kind", "firmware", "what this device layout holds: firmware or models")
	pf.StringVar(&f.board, "board", "sim", "device board")
	pf.StringVar(&f.arch, "arch", runtime.GOARCH, "device architecture")
	pf.StringVar(&f.healthCmd, "health-cmd", "", "shell command that judges a new version (exit 0 = healthy); gets LIVEGATE_SLOT_PATH, LIVEGATE_VERSION")

	provision := &cobra.Command{
		Use: "provision ARTIFACT", Short: "Put the factory image into slot A of an empty device", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dev, _, err := f.device(g, cmd)
			if err != nil {
				return err
			}
			fh, err := os.Open(args[0])
			if err != nil {
				return err
			}
			defer fh.Close()
			m, err := dev.Provision(cmd.Context(), fh)
			if err != nil {
				return refusalIf(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "provisioned %s %s in slot a\n", m.Kind, m.Version)
			return nil
		},
	}
	inst := &cobra.Command{
		Use: "install ARTIFACT", Short: "Verify, write to the inactive slot and switch the boot pointer (trial)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dev, _, err := f.device(g, cmd)
			if err != nil {
				return err
			}
			fh, err := os.Open(args[0])
			if err != nil {
				return err
			}
			defer fh.Close()
			m, err := dev.Install(cmd.Context(), fh)
			if err != nil {
				return refusalIf(err)
			}
			env, err := dev.Env()
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "installed %s %s in slot %s on trial; run `sim start` to boot and confirm it\n", m.Kind, m.Version, env.Active)
			return nil
		},
	}
	start := &cobra.Command{
		Use: "start", Short: "Power on: boot, run the health check of a version on trial, commit or roll back", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dev, _, err := f.device(g, cmd)
			if err != nil {
				return err
			}
			r, err := dev.Start(cmd.Context())
			if err != nil {
				return err
			}
			env, err := dev.Env()
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "running %s %s from slot %s\n", r.Kind, r.Version, r.Slot)
			if env.Rollback != nil {
				fmt.Fprintf(cmd.OutOrStdout(), "last rollback: %s (%s)\n", env.Rollback.Version, env.Rollback.Reason)
			}
			return nil
		},
	}
	status := &cobra.Command{
		Use: "status", Short: "Print the boot environment as JSON", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			layout, err := install.NewSim(f.root)
			if err != nil {
				return err
			}
			env, err := layout.ReadEnv()
			if err != nil {
				return err
			}
			return printJSON(cmd, env)
		},
	}
	cmd.AddCommand(provision, inst, start, status)
	return cmd
}

// refusalIf marks artifact refusals for exit code 2.
func refusalIf(err error) error {
	if artifact.Reason(err) != "error" {
		return refusal{err}
	}
	return err
}
