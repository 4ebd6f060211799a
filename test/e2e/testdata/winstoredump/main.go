//go:build windows

// Command winstoredump reads and changes the Windows certificate store from a
// process of its own, for the Wine end-to-end test of akvvm. It talks to
// crypt32 directly, not through akvvm's code, so what it reports is what any
// other Windows program would see.
//
//	winstoredump list                       JSON of MY, TrustedPeople, CA and Root at both locations
//	winstoredump add LOCATION STORE FILE FRIENDLY DESCRIPTION
//	                                        add the PEM certificate in FILE (no key) with those properties
//	winstoredump remove THUMBPRINT...       delete those certificates from every listed store
//	winstoredump lock LOCATION STORE FILE   hold akvvm's lock on that store until FILE exists
//
// It never prints private keys: only certificates and their properties.
package main

import (
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"
)

// Cert is one certificate in a store, with the properties akvvm sets.
type Cert struct {
	Thumbprint   string `json:"thumbprint"`
	FriendlyName string `json:"friendlyName,omitempty"`
	Description  string `json:"description,omitempty"`
	// Renewal is the upper-case hex SHA-1 in CERT_RENEWAL_PROP_ID, if set.
	Renewal string `json:"renewal,omitempty"`
	// HasKey reports a CERT_KEY_PROV_INFO property (a private key is attached).
	HasKey bool   `json:"hasKey"`
	DER    []byte `json:"der"`
}

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "winstoredump:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return errors.New("usage: winstoredump list | add LOCATION STORE FILE FRIENDLY DESCRIPTION | remove THUMBPRINTS")
	}
	// What list reports and remove searches.
	locations := []string{"LocalMachine", "CurrentUser"}
	stores := []string{"MY", "TrustedPeople", "CA", "Root"}
	switch args[0] {
	case "list":
		out := map[string]map[string][]Cert{}
		for _, loc := range locations {
			out[loc] = map[string][]Cert{}
			for _, name := range stores {
				certs, err := list(loc, name)
				if err != nil {
					return err
				}
				out[loc][name] = certs
			}
		}
		return json.NewEncoder(os.Stdout).Encode(out)
	case "add":
		if len(args) != 6 {
			return errors.New("usage: winstoredump add LOCATION STORE FILE FRIENDLY DESCRIPTION")
		}
		data, err := os.ReadFile(args[3])
		if err != nil {
			return err
		}
		block, _ := pem.Decode(data)
		if block == nil || block.Type != "CERTIFICATE" {
			return fmt.Errorf("%s holds no PEM certificate", args[3])
		}
		return add(args[1], args[2], block.Bytes, args[4], args[5])
	case "remove":
		want := map[string]bool{}
		for _, t := range args[1:] {
			want[strings.ToUpper(t)] = true
		}
		for _, loc := range locations {
			for _, name := range stores {
				if err := remove(loc, name, want); err != nil {
					return err
				}
			}
		}
		return nil
	case "lock":
		if len(args) != 4 {
			return errors.New("usage: winstoredump lock LOCATION STORE RELEASE-FILE")
		}
		return holdLock(args[1], args[2], args[3])
	}
	return fmt.Errorf("unknown command %q: use list, add, remove or lock", args[0])
}
