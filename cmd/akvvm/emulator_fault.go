package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/akvvm/akvvm/internal/emulator"
)

func newEmulatorFaultCommand() *cobra.Command {
	var a adminFlags
	cmd := &cobra.Command{Use: "fault", Short: "Inject faults into a running emulator", Args: cobra.NoArgs}
	a.register(cmd)
	var f emulator.Fault
	var delay time.Duration
	var kind, valueFile string
	add := &cobra.Command{
		Use:   "add",
		Short: "Add a fault for matching requests; prints its id",
		Long: `Add a fault. Kinds: status (answer --status with an error body, --retry-after seconds),
reset (close the connection with a TCP RST), delay (wait --delay, then answer), truncate (half
the body, then close), malformed (invalid JSON), stall (never answer; the connection stays
open until the client gives up), redirect (answer --status, default 302, with Location:
--location), value (a getSecret answer with its value replaced by the file --value-file and/or
padded with newlines to --pad-to bytes: a hostile vault's forged or oversize value).
Operations: getSecret, listVersions, listSecrets, setSecret, updateSecret, deleteSecret, token
(the identity endpoint) or *.`,
		Example: `  # The next two gets of secret web answer 429 with Retry-After: 5
  akvvm emulator fault add --op getSecret --secret web --kind status --status 429 --retry-after 5 --count 2

  # Every listing of secret web is refused by the vault firewall
  akvvm emulator fault add --op listVersions --secret web --kind status --status 403 --inner-code ForbiddenByFirewall --count 0

  # The identity endpoint answers 410 until cleared
  akvvm emulator fault add --op token --kind status --status 410

  # Every request to vault myvault is accepted and never answered
  akvvm emulator fault add --vault myvault --kind stall --count 0

  # Gets of secret web are redirected to another vault's secret
  akvvm emulator fault add --op getSecret --secret web --kind redirect --location https://other.vault.azure.net/secrets/web

  # Gets of secret web answer a 2 MB value (the real one padded)
  akvvm emulator fault add --op getSecret --secret web --kind value --pad-to 2000000 --count 0`,
		Args: cobra.NoArgs,
		RunE: adminRun(&a, func(ctx context.Context, c *emulator.AdminClient) (any, error) {
			f.Kind, f.Delay = emulator.FaultKind(kind), emulator.Duration(delay)
			if f.Kind == emulator.FaultStatus && f.Status == 0 {
				f.Status = http.StatusServiceUnavailable
			}
			if valueFile != "" {
				data, err := os.ReadFile(valueFile)
				if err != nil {
					return nil, fmt.Errorf("--value-file: %w", err)
				}
				f.Value = string(data)
			}
			id, err := c.AddFault(ctx, f)
			return emulator.FaultAdded{ID: id}, err
		}),
	}
	fl := add.Flags()
	fl.StringVar(&f.Op, "op", "*", "operation to match, or *")
	fl.StringVar(&f.Vault, "vault", "", "only requests to this vault")
	fl.StringVar(&f.Secret, "secret", "", "only requests for this secret")
	fl.IntVar(&f.Count, "count", 1, "number of requests to hit; 0 = until cleared")
	fl.StringVar(&kind, "kind", "status", "status, reset, delay, truncate, malformed, stall, redirect or value")
	fl.IntVar(&f.Status, "status", 0, "HTTP status of a status fault (default 503) or a redirect fault (default 302)")
	fl.IntVar(&f.RetryAfter, "retry-after", 0, "Retry-After seconds sent with a status fault (0 = none)")
	fl.StringVar(&f.Code, "code", "", "error code of a status fault (default from the status)")
	fl.StringVar(&f.InnerCode, "inner-code", "", "innererror code of a status fault, such as ForbiddenByFirewall")
	fl.StringVar(&f.Message, "message", "", "error message of a status fault")
	fl.DurationVar(&delay, "delay", time.Second, "wait of a delay fault")
	fl.StringVar(&f.Location, "location", "", "where a redirect fault sends the client (an absolute URL)")
	fl.StringVar(&valueFile, "value-file", "", "file whose content replaces the secret value of a value fault")
	fl.IntVar(&f.PadTo, "pad-to", 0, "pad the value of a value fault with newlines to this many bytes")

	list := &cobra.Command{
		Use: "list", Short: "List active faults", Args: cobra.NoArgs,
		RunE: adminRun(&a, func(ctx context.Context, c *emulator.AdminClient) (any, error) { return c.Faults(ctx) }),
	}
	clearCmd := &cobra.Command{
		Use: "clear", Short: "Remove every fault", Args: cobra.NoArgs,
		RunE: adminRun(&a, func(ctx context.Context, c *emulator.AdminClient) (any, error) { return nil, c.ClearFaults(ctx) }),
	}
	cmd.AddCommand(add, list, clearCmd)
	return cmd
}

func newEmulatorRequestsCommand() *cobra.Command {
	var a adminFlags
	var counts, conns, reset bool
	cmd := &cobra.Command{
		Use:   "requests",
		Short: "Print the request log (or counters) of a running emulator",
		Example: `  akvvm emulator requests
  akvvm emulator requests --counts
  akvvm emulator requests --connections
  akvvm emulator requests --reset`,
		Args: cobra.NoArgs,
		RunE: adminRun(&a, func(ctx context.Context, c *emulator.AdminClient) (any, error) {
			switch {
			case reset:
				return nil, c.ResetLog(ctx)
			case counts:
				return c.Counts(ctx)
			case conns:
				return c.Connections(ctx)
			}
			return c.Requests(ctx)
		}),
	}
	a.register(cmd)
	cmd.Flags().BoolVar(&counts, "counts", false, "print counters per operation and vault")
	cmd.Flags().BoolVar(&conns, "connections", false, "print the connections accepted and the TLS handshakes per server name and protocol (h2, http/1.1)")
	cmd.Flags().BoolVar(&reset, "reset", false, "empty the log and counters (connection counters included)")
	return cmd
}
