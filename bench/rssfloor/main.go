// Command rssfloor is the memory floor of BenchmarkPeakRSS: the bare job
// (bench/floor) for N certificates in one process, over the same transport
// and identity code as akvvm, so its peak resident set is what the Go
// runtime, TLS, the Azure SDK and decoding need without akvvm.
//
// Usage: rssfloor -vault-url URL -imds URL -connect-to HOST=ADDR -ca-file F -dir D -n N
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sync"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
	"github.com/akvvm/akvvm/bench/floor"
	"github.com/akvvm/akvvm/internal/identity"
	"github.com/akvvm/akvvm/internal/transport"
)

func main() {
	vaultURL := flag.String("vault-url", "", "vault URL, https://NAME.vault.azure.net")
	vault := flag.String("vault", "", "vault name, for the file names")
	imds := flag.String("imds", "", "identity endpoint")
	route := flag.String("connect-to", "", "HOST=ADDR:PORT route (test-only option)")
	caFile := flag.String("ca-file", "", "CA file (test-only option)")
	dir := flag.String("dir", "", "directory to write into")
	n := flag.Int("n", 0, "certificates cert00000 … cert<n-1>")
	flag.Parse()
	if err := run(*vaultURL, *vault, *imds, *route, *caFile, *dir, *n); err != nil {
		fmt.Fprintln(os.Stderr, "rssfloor:", err)
		os.Exit(1)
	}
}

func run(vaultURL, vault, imds, route, caFile, dir string, n int) error {
	r, err := transport.ParseRoute(route)
	if err != nil {
		return err
	}
	httpClient, err := transport.NewClient(transport.Options{Routes: []transport.Route{r}, CAFile: caFile}, transport.ClientConfig{Concurrency: 4})
	if err != nil {
		return err
	}
	cred, err := identity.New(identity.Options{Endpoint: imds, HTTPClient: httpClient})
	if err != nil {
		return err
	}
	c, err := azsecrets.NewClient(vaultURL, cred, &azsecrets.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: httpClient}})
	if err != nil {
		return err
	}
	names := make(chan string)
	errs := make(chan error, 4)
	var wg sync.WaitGroup
	for range 4 { // the agent's concurrency
		wg.Go(func() {
			for name := range names {
				if err := floor.Install(context.Background(), c, vault, name, dir); err != nil {
					errs <- fmt.Errorf("%s: %w", name, err)
					return
				}
			}
		})
	}
	go func() {
		defer close(names)
		for i := range n {
			names <- fmt.Sprintf("cert%05d", i)
		}
	}()
	wg.Wait()
	close(errs)
	return <-errs
}
