package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"time"

	"github.com/akvvm/akvvm/internal/agent"
	"github.com/akvvm/akvvm/internal/config"
	"github.com/akvvm/akvvm/internal/emulator"
	"github.com/akvvm/akvvm/internal/secretfile"
	"github.com/spf13/cobra"
)

func init() { subcommands = append(subcommands, newDemoCommand) }

// demoVault is the vault the demo creates in the embedded emulator.
const demoVault = "contoso-demo"

func newDemoCommand() *cobra.Command {
	var dir string
	var keep bool
	var verbose bool
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "See akvvm work end to end against the built-in Key Vault emulator (no Azure needed)",
		Long: `Start the built-in Key Vault and managed-identity emulator, create two certificates
(one stored as PKCS #12, one as PEM), run the agent into a temporary certificate store
through the same code path as production (real vault URLs, TLS verification, the
Key Vault authentication challenge), rotate one certificate, show the renewal being
picked up, withdraw it (disable it in the vault) and show the machine going back to the
previous version, print the status table, and exit. Takes a few seconds.`,
		Example: `  akvvm demo
  akvvm demo --keep --dir /tmp/akvvm-demo   # keep the store to look at it afterwards`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runtime.GOOS != "linux" {
				return errors.New("the demo installs into the Linux directory store; on Windows it needs the Windows store (issue 5)")
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 60*time.Second)
			defer cancel()
			return runDemo(ctx, cmd.OutOrStdout(), dir, keep, verbose)
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "new or empty directory for the demo's settings, store and status (default: a new temporary directory)")
	cmd.Flags().BoolVar(&keep, "keep", false, "keep the directory afterwards")
	cmd.Flags().BoolVar(&verbose, "verbose", false, "show the agent's log lines")
	return cmd
}

func runDemo(ctx context.Context, out io.Writer, dir string, keep, verbose bool) error {
	say := func(format string, args ...any) { fmt.Fprintf(out, format+"\n", args...) }
	dir, cleanup, err := demoDir(dir)
	if err != nil {
		return err
	}
	if !keep {
		defer cleanup()
	}
	logOut := io.Discard
	if verbose {
		logOut = os.Stderr
	}
	log := slog.New(slog.NewTextHandler(logOut, nil))

	say("==> Starting the built-in Key Vault emulator")
	emu, err := emulator.New(emulator.Config{Logger: log})
	if err != nil {
		return err
	}
	if err := emu.Start(); err != nil {
		return err
	}
	defer emu.Close()
	if _, err := emu.CreateVault(emulator.VaultSpec{Name: demoVault}); err != nil {
		return err
	}
	certs := []struct {
		name string
		spec emulator.CertificateSpec
	}{
		{"www", emulator.CertificateSpec{DNSNames: []string{"www.contoso.example"}, ContentType: "application/x-pkcs12"}},
		{"api", emulator.CertificateSpec{DNSNames: []string{"api.contoso.example"}, KeyType: "EC-P256", ContentType: "application/x-pem-file"}},
	}
	for _, c := range certs {
		v, err := emu.CreateCertificate(demoVault, c.name, c.spec)
		if err != nil {
			return err
		}
		say("    created certificate %-4s %s (%s, thumbprint %s)", c.name, v.ID, c.spec.ContentType, v.Thumbprint)
	}
	say("    vault:             %s", emu.VaultURL(demoVault))
	say("    identity endpoint: %s", emu.IMDSEndpoint())
	say("    emulator CA:       %s", emu.CAFile())

	storeDir := filepath.Join(dir, "store")
	settingsFile := filepath.Join(dir, "settings.json")
	if err := writeDemoSettings(settingsFile, emu, storeDir); err != nil {
		return err
	}
	say("\n==> Settings (KeyVaultForLinux 3.0 form) in %s", settingsFile)
	data, _ := os.ReadFile(settingsFile)
	say("%s", data)

	s, err := config.ParseFile(settingsFile, config.Options{Schema: config.Schema{Platform: config.Linux, Version: "3.0"}})
	if err != nil {
		return fmt.Errorf("demo settings: %w", err)
	}
	deps, err := wireDeps(s, emu.TransportOptions(), log)
	if err != nil {
		return err
	}
	deps.StatusFile = filepath.Join(dir, "state", statusFileName)
	deps.Secrets = secretfile.New(filepath.Join(dir, "state", secretsDirName))
	spec := agent.SpecFromSettings(s)
	spec.Interval = 2 * time.Second // the demo polls fast; real settings allow 5 min to 60 min
	a, err := agent.New(spec, deps)
	if err != nil {
		return err
	}

	say("==> Initial sync (the same as: akvvm sync --once --settings %s --connect-to '*.vault.azure.net=%s' --ca-file %s)",
		settingsFile, emu.TransportOptions().Routes[0].Addr, emu.CAFile())
	st := a.SyncOnce(ctx)
	if err := printStatusTable(out, st, time.Now()); err != nil {
		return err
	}
	if st.Phase != agent.Success {
		return fmt.Errorf("the initial sync did not succeed: %s", st.Message)
	}
	say("")
	if err := listStore(out, storeDir); err != nil {
		return err
	}

	before := ""
	for _, c := range st.Certificates {
		if c.Key == demoVault+"/www" {
			before = c.InstalledVersion
		}
	}
	say("\n==> Rotating certificate www in the vault")
	rotated, err := emu.RotateCertificate(demoVault, "www")
	if err != nil {
		return err
	}
	say("    new version %s (thumbprint %s)", rotated.Version, rotated.Thumbprint)
	say("==> Running the agent (polling every %s for the demo) until it picks up the renewal", spec.Interval)
	if err := runUntil(ctx, a, demoVault+"/www", rotated.Version); err != nil {
		return fmt.Errorf("the agent did not pick up the rotated certificate: %w", err)
	}
	say("    renewal installed; the link now points at the new version\n")
	if err := printStatusTable(out, a.Status(), time.Now()); err != nil {
		return err
	}
	say("")
	if err := listStore(out, storeDir); err != nil {
		return err
	}

	say("\n==> Withdrawing the new version: disabling it in the vault (az keyvault secret set-attributes --enabled false)")
	if err := emu.SetSecretEnabled(demoVault, "www", rotated.Version, false); err != nil {
		return err
	}
	say("==> Running the agent until it goes back to the previous version")
	if err := runUntil(ctx, a, demoVault+"/www", before); err != nil {
		return fmt.Errorf("the agent did not go back to the previous version: %w", err)
	}
	say("    rolled back: the link points at the previous version again and the withdrawn one is removed\n")
	if err := printStatusTable(out, a.Status(), time.Now()); err != nil {
		return err
	}
	say("")
	if err := listStore(out, storeDir); err != nil {
		return err
	}
	if keep {
		say("\nKept %s. Try: akvvm status --state-dir %s", dir, filepath.Join(dir, "state"))
	}
	say("\nDemo finished. Next: akvvm emulator --help, akvvm validate --help, akvvm run --help")
	return nil
}

// demoDir returns the demo's directory and a cleanup that removes only what
// the demo created: a new directory entirely, or the demo's own entries in
// an empty directory the user named. A non-empty directory is refused, so
// the demo never deletes files it did not write.
func demoDir(dir string) (string, func(), error) {
	if dir == "" {
		d, err := os.MkdirTemp("", "akvvm-demo-")
		if err != nil {
			return "", nil, fmt.Errorf("create the demo directory: %w", err)
		}
		return d, func() { _ = os.RemoveAll(d) }, nil
	}
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return "", nil, fmt.Errorf("create the demo directory: %w", err)
		}
		return dir, func() { _ = os.RemoveAll(dir) }, nil
	case err != nil:
		return "", nil, fmt.Errorf("--dir: %w", err)
	case len(entries) > 0:
		return "", nil, fmt.Errorf("--dir %s is not empty; name a new or empty directory, the demo removes what it writes there", dir)
	}
	return dir, func() {
		for _, name := range []string{"settings.json", "store", "state"} {
			_ = os.RemoveAll(filepath.Join(dir, name))
		}
	}, nil
}

// writeDemoSettings writes settings as a user would for KeyVaultForLinux 3.0.
func writeDemoSettings(path string, emu *emulator.Emulator, storeDir string) error {
	settings := map[string]any{
		"secretsManagementSettings": map[string]any{
			"pollingIntervalInS": "3600",
			"requireInitialSync": true,
			"observedCertificates": []map[string]any{
				{"url": emu.VaultURL(demoVault) + "/secrets/www", "certificateStoreLocation": storeDir},
				{"url": emu.VaultURL(demoVault) + "/secrets/api", "certificateStoreLocation": storeDir, "customSymbolicLinkName": "api.pem"},
			},
		},
		"authenticationSettings": map[string]any{"msiEndpoint": emu.IMDSEndpoint()},
	}
	data, err := json.MarshalIndent(settings, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o600)
}

// listStore prints the store directory like ls -l.
func listStore(out io.Writer, dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("list the store: %w", err)
	}
	fmt.Fprintf(out, "Store %s:\n", dir)
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	for _, e := range entries {
		info, err := os.Lstat(filepath.Join(dir, e.Name()))
		if err != nil {
			return err
		}
		line := fmt.Sprintf("  %s %6d  %s", info.Mode(), info.Size(), e.Name())
		if info.Mode()&os.ModeSymlink != 0 {
			target, _ := os.Readlink(filepath.Join(dir, e.Name()))
			line += " -> " + target
		}
		fmt.Fprintln(out, line)
	}
	return nil
}

// runUntil runs the agent until the certificate key has version installed.
func runUntil(ctx context.Context, a *agent.Agent, key, version string) error {
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.Run(runCtx) }()
	reached := waitFor(ctx, func() bool {
		for _, c := range a.Status().Certificates {
			if c.Key == key && c.InstalledVersion == version {
				return true
			}
		}
		return false
	})
	stop()
	if err := <-done; err != nil {
		return err
	}
	if !reached {
		return fmt.Errorf("version %s of %s not current in time", version, key)
	}
	return nil
}

// waitFor polls cond until it holds or ctx ends.
func waitFor(ctx context.Context, cond func() bool) bool {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		if cond() {
			return true
		}
		select {
		case <-ctx.Done():
			return cond()
		case <-t.C:
		}
	}
}
