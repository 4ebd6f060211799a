package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/akvvm/akvvm/internal/emulator"
)

// adminFlags are the flags every admin subcommand shares.
type adminFlags struct {
	url, caFile string
}

func (a *adminFlags) register(cmd *cobra.Command) {
	cmd.PersistentFlags().StringVar(&a.url, "admin", "https://127.0.0.1:8443", "admin API of the running emulator (its --listen address)")
	cmd.PersistentFlags().StringVar(&a.caFile, "ca-file", filepath.Join(defaultEmulatorStateDir(), "ca.pem"), "CA file printed by the running emulator")
}

func (a *adminFlags) client() (*emulator.AdminClient, error) {
	return emulator.NewAdminClient(a.url, a.caFile)
}

// adminRun wraps an admin action: a client, a bounded context, JSON output.
func adminRun(a *adminFlags, fn func(ctx context.Context, c *emulator.AdminClient) (any, error)) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, _ []string) error {
		c, err := a.client()
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(cmd.Context(), 2*time.Minute)
		defer cancel()
		out, err := fn(ctx, c)
		if err != nil || out == nil {
			return err
		}
		enc := json.NewEncoder(cmd.OutOrStdout())
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
}

func newEmulatorCertCommand() *cobra.Command {
	var a adminFlags
	cmd := &cobra.Command{
		Use:   "cert",
		Short: "Create, rotate or import certificates in a running emulator",
		Args:  cobra.NoArgs,
	}
	a.register(cmd)
	var vault, name string
	vaultName := func(c *cobra.Command) {
		c.Flags().StringVar(&vault, "vault", "", "vault name (required)")
		c.Flags().StringVar(&name, "name", "", "certificate (secret) name (required)")
		_ = c.MarkFlagRequired("vault")
		_ = c.MarkFlagRequired("name")
	}

	var spec emulator.CertificateSpec
	var validity time.Duration
	create := &cobra.Command{
		Use:   "create",
		Short: "Issue a certificate from the emulator CA as a new version",
		Long: `Issue a certificate from the emulator's CA and store it as a new version of a
certificate-backed secret (managed, with a kid), in PFX (default) or PEM.`,
		Example: `  akvvm emulator cert create --vault myvault --name web --dns www.example.com --dns example.com
  akvvm emulator cert create --vault myvault --name api --key-type EC-P256 --content-type pem --validity 720h`,
		Args: cobra.NoArgs,
		RunE: adminRun(&a, func(ctx context.Context, c *emulator.AdminClient) (any, error) {
			spec.Validity = emulator.Duration(validity)
			return c.CreateCertificate(ctx, vault, name, spec)
		}),
	}
	vaultName(create)
	create.Flags().StringVar(&spec.CommonName, "cn", "", "subject common name (default: the first DNS name, else the name)")
	create.Flags().StringSliceVar(&spec.DNSNames, "dns", nil, "subject alternative DNS name; repeatable or comma-separated")
	create.Flags().StringVar(&spec.KeyType, "key-type", "RSA-2048", "RSA-2048, RSA-3072, RSA-4096, EC-P256 or EC-P384")
	create.Flags().DurationVar(&validity, "validity", 365*24*time.Hour, "certificate lifetime")
	create.Flags().StringVar(&spec.ContentType, "content-type", "pfx", "pfx (application/x-pkcs12) or pem (application/x-pem-file)")
	create.Flags().BoolVar(&spec.SelfSigned, "self-signed", false, "issue a self-signed certificate without chain")

	rotate := &cobra.Command{
		Use:     "rotate",
		Short:   "Issue a new version with the parameters of the last create",
		Example: `  akvvm emulator cert rotate --vault myvault --name web`,
		Args:    cobra.NoArgs,
		RunE: adminRun(&a, func(ctx context.Context, c *emulator.AdminClient) (any, error) {
			return c.RotateCertificate(ctx, vault, name)
		}),
	}
	vaultName(rotate)

	var file, passwordFile, importType string
	imp := &cobra.Command{
		Use:   "import",
		Short: "Import a PFX or PEM file as a new version",
		Long: `Import a PFX (raw or base64) or PEM file holding a private key and its certificate
chain, and store it re-encoded in the requested content type.`,
		Example: `  akvvm emulator cert import --vault myvault --name web --file web.pfx --password-file web.pass
  akvvm emulator cert import --vault myvault --name web --file web.pem --content-type pem`,
		Args: cobra.NoArgs,
		RunE: adminRun(&a, func(ctx context.Context, c *emulator.AdminClient) (any, error) {
			data, err := os.ReadFile(file)
			if err != nil {
				return nil, fmt.Errorf("read certificate file: %w", err)
			}
			spec := emulator.ImportSpec{Data: data, ContentType: importType}
			if passwordFile != "" {
				pw, err := os.ReadFile(passwordFile)
				if err != nil {
					return nil, fmt.Errorf("read password file: %w", err)
				}
				spec.Password = strings.TrimRight(string(pw), "\r\n")
			}
			return c.ImportCertificate(ctx, vault, name, spec)
		}),
	}
	vaultName(imp)
	imp.Flags().StringVar(&file, "file", "", "PFX or PEM file (required)")
	imp.Flags().StringVar(&passwordFile, "password-file", "", "file holding the PFX password")
	imp.Flags().StringVar(&importType, "content-type", "pfx", "how to store it: pfx or pem")
	_ = imp.MarkFlagRequired("file")

	cmd.AddCommand(create, rotate, imp)
	return cmd
}

func newEmulatorSecretCommand() *cobra.Command {
	var a adminFlags
	cmd := &cobra.Command{Use: "secret", Short: "Set or delete secrets in a running emulator", Args: cobra.NoArgs}
	a.register(cmd)
	var vault, name, value, valueFile string
	var spec emulator.SecretSpec
	var disabled bool
	set := &cobra.Command{
		Use:   "set",
		Short: "Store a secret value as a new version",
		Example: `  akvvm emulator secret set --vault myvault --name db-password --value-file pw.txt
  akvvm emulator secret set --vault myvault --name greeting --value hello --content-type text/plain`,
		Args: cobra.NoArgs,
		RunE: adminRun(&a, func(ctx context.Context, c *emulator.AdminClient) (any, error) {
			switch {
			case value != "" && valueFile != "":
				return nil, fmt.Errorf("give --value or --value-file, not both")
			case valueFile != "":
				data, err := os.ReadFile(valueFile)
				if err != nil {
					return nil, fmt.Errorf("read value file: %w", err)
				}
				spec.Value = string(data)
			case value != "":
				spec.Value = value
			default:
				return nil, fmt.Errorf("give the value with --value or --value-file")
			}
			if disabled {
				f := false
				spec.Enabled = &f
			}
			return c.SetSecret(ctx, vault, name, spec)
		}),
	}
	set.Flags().StringVar(&vault, "vault", "", "vault name (required)")
	set.Flags().StringVar(&name, "name", "", "secret name (required)")
	set.Flags().StringVar(&value, "value", "", "secret value (visible in the process list; prefer --value-file)")
	set.Flags().StringVar(&valueFile, "value-file", "", "file holding the secret value")
	set.Flags().StringVar(&spec.ContentType, "content-type", "", "content type, e.g. text/plain")
	set.Flags().BoolVar(&disabled, "disabled", false, "store the version disabled")
	_ = set.MarkFlagRequired("vault")
	_ = set.MarkFlagRequired("name")

	var delVault, delName, delVersion string
	del := &cobra.Command{
		Use:   "delete",
		Short: "Delete a secret, or make the vault stop listing one of its versions",
		Long: `Delete a secret with all its versions, or with --version only that version: the
vault stops listing and serving it, as after restoring or recreating the secret
without it (Key Vault itself cannot delete a single version). Deleting the last
version deletes the secret.`,
		Example: `  akvvm emulator secret delete --vault myvault --name web
  akvvm emulator secret delete --vault myvault --name web --version 3f1c0a9e5b7d4c2e8f6a1b3d5c7e9f0a`,
		Args: cobra.NoArgs,
		RunE: adminRun(&a, func(ctx context.Context, c *emulator.AdminClient) (any, error) {
			if delVersion != "" {
				return nil, c.DeleteSecretVersion(ctx, delVault, delName, delVersion)
			}
			return nil, c.DeleteSecret(ctx, delVault, delName)
		}),
	}
	del.Flags().StringVar(&delVault, "vault", "", "vault name (required)")
	del.Flags().StringVar(&delName, "name", "", "secret name (required)")
	del.Flags().StringVar(&delVersion, "version", "", "delete only this version")
	_ = del.MarkFlagRequired("vault")
	_ = del.MarkFlagRequired("name")
	cmd.AddCommand(set, del, newSecretEnableCommand(&a, true), newSecretEnableCommand(&a, false))
	return cmd
}

func newEmulatorVaultCommand() *cobra.Command {
	var a adminFlags
	cmd := &cobra.Command{Use: "vault", Short: "Create vaults and set their access in a running emulator", Args: cobra.NoArgs}
	a.register(cmd)
	var spec emulator.VaultSpec
	var grants []string
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a vault (open to every identity unless --grant is given)",
		Example: `  akvvm emulator vault create --name myvault
  akvvm emulator vault create --name cnvault --cloud china --grant 11111111-2222-4333-8444-555555555555=get,list`,
		Args: cobra.NoArgs,
		RunE: adminRun(&a, func(ctx context.Context, c *emulator.AdminClient) (any, error) {
			access, err := parseGrants(grants)
			if err != nil {
				return nil, err
			}
			spec.Access = access
			return c.CreateVault(ctx, spec)
		}),
	}
	create.Flags().StringVar(&spec.Name, "name", "", "vault name (required)")
	create.Flags().StringVar(&spec.Cloud, "cloud", "public", "public, china, usgov or germany")
	create.Flags().StringArrayVar(&grants, "grant", nil, "CLIENT_ID=PERM[,PERM] with get, list, set, delete; repeatable")
	_ = create.MarkFlagRequired("name")

	var vault string
	var open bool
	var accessGrants []string
	access := &cobra.Command{
		Use:   "access",
		Short: "Replace a vault's access list",
		Example: `  akvvm emulator vault access --vault myvault --grant 11111111-2222-4333-8444-555555555555=get,list
  akvvm emulator vault access --vault myvault --open`,
		Args: cobra.NoArgs,
		RunE: adminRun(&a, func(ctx context.Context, c *emulator.AdminClient) (any, error) {
			if open == (len(accessGrants) > 0) {
				return nil, fmt.Errorf("give either --open or at least one --grant")
			}
			m, err := parseGrants(accessGrants)
			if err != nil {
				return nil, err
			}
			return nil, c.SetAccess(ctx, vault, m)
		}),
	}
	access.Flags().StringVar(&vault, "vault", "", "vault name (required)")
	access.Flags().BoolVar(&open, "open", false, "grant every identity every permission")
	access.Flags().StringArrayVar(&accessGrants, "grant", nil, "CLIENT_ID=PERM[,PERM] with get, list, set, delete; repeatable")
	_ = access.MarkFlagRequired("vault")
	cmd.AddCommand(create, access)
	return cmd
}

func newEmulatorIdentityCommand() *cobra.Command {
	var a adminFlags
	cmd := &cobra.Command{Use: "identity", Short: "Add user-assigned identities to a running emulator", Args: cobra.NoArgs}
	a.register(cmd)
	add := &cobra.Command{
		Use:     "add CLIENT_ID",
		Short:   "Add a user-assigned identity",
		Example: `  akvvm emulator identity add 11111111-2222-4333-8444-555555555555`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return adminRun(&a, func(ctx context.Context, c *emulator.AdminClient) (any, error) {
				return nil, c.AddIdentity(ctx, args[0])
			})(cmd, args)
		},
	}
	cmd.AddCommand(add)
	return cmd
}

// parseGrants reads CLIENT_ID=PERM[,PERM] flags; none means nil (open vault).
func parseGrants(grants []string) (map[string][]emulator.Permission, error) {
	if len(grants) == 0 {
		return nil, nil
	}
	out := map[string][]emulator.Permission{}
	for _, g := range grants {
		id, perms, ok := strings.Cut(g, "=")
		if !ok || id == "" || perms == "" {
			return nil, fmt.Errorf("--grant %q: want CLIENT_ID=PERM[,PERM], for example 1111...=get,list", g)
		}
		for _, p := range strings.Split(perms, ",") {
			perm, err := emulator.ParsePermission(p)
			if err != nil {
				return nil, fmt.Errorf("--grant %q: %w", g, err)
			}
			out[id] = append(out[id], perm)
		}
	}
	return out, nil
}

// newSecretEnableCommand is "secret enable" or "secret disable": the
// emulator's "az keyvault secret set-attributes --enabled".
func newSecretEnableCommand(a *adminFlags, enable bool) *cobra.Command {
	verb, what := "disable", "Disable"
	if enable {
		verb, what = "enable", "Enable"
	}
	var vault, name, version string
	cmd := &cobra.Command{
		Use:   verb,
		Short: what + " a secret version (the latest by default), as az keyvault secret set-attributes --enabled does",
		Long: what + ` a secret version. A disabled version is listed with enabled=false and its value is
refused; agents go back to the newest enabled version at their next check, and forward
again when it is enabled.`,
		Example: "  akvvm emulator secret " + verb + " --vault myvault --name web\n" +
			"  akvvm emulator secret " + verb + " --vault myvault --name web --version 3f1c0a9e5b7d4c2e8f6a1b3d5c7e9f0a",
		Args: cobra.NoArgs,
		RunE: adminRun(a, func(ctx context.Context, c *emulator.AdminClient) (any, error) {
			return nil, c.SetSecretEnabled(ctx, vault, name, version, enable)
		}),
	}
	cmd.Flags().StringVar(&vault, "vault", "", "vault name (required)")
	cmd.Flags().StringVar(&name, "name", "", "secret name (required)")
	cmd.Flags().StringVar(&version, "version", "", "the version; default the latest")
	_ = cmd.MarkFlagRequired("vault")
	_ = cmd.MarkFlagRequired("name")
	return cmd
}
