package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/akvvm/akvvm/internal/config"
	"github.com/akvvm/akvvm/internal/secretfile"
)

// secretProblems checks on this machine what the settings of each
// observedSecrets entry need: its owner and group exist, and its path is
// not a directory and lies under directories (or where akvvm would create
// them). Each problem names the field's path and the fix.
func secretProblems(s *config.Settings) []string {
	var out []string
	for i, sec := range s.Secrets {
		entry := fmt.Sprintf("secretsManagementSettings.observedSecrets[%d]", i)
		t := secretTarget(sec)
		if err := secretfile.Resolve(t); err != nil {
			name := "owner"
			if !strings.HasPrefix(err.Error(), "owner ") {
				name = "group"
			}
			out = append(out, config.Problem{Path: entry + "." + name, Message: err.Error()}.String())
		}
		if fi, err := os.Lstat(sec.Path); err == nil && fi.IsDir() {
			out = append(out, config.Problem{Path: entry + ".path", Message: fmt.Sprintf("%s is a directory on this machine", sec.Path),
				Hint: "Name a file inside it, such as " + filepath.Join(sec.Path, sec.URL.Name) + "."}.String())
			continue
		}
		for dir := filepath.Dir(sec.Path); ; dir = filepath.Dir(dir) {
			fi, err := os.Stat(dir)
			if errors.Is(err, fs.ErrNotExist) && dir != filepath.Dir(dir) {
				continue // akvvm creates it
			}
			if err == nil && !fi.IsDir() {
				out = append(out, config.Problem{Path: entry + ".path", Message: fmt.Sprintf("%s is not a directory on this machine, so %s cannot be written", dir, sec.Path),
					Hint: "Choose a path under a directory."}.String())
			}
			break
		}
	}
	return out
}

// secretTarget is the file target of a secret's settings.
func secretTarget(sec config.Secret) secretfile.Target {
	return secretfile.Target{URL: sec.URL.String(), Path: sec.Path, Mode: sec.Mode, Owner: sec.Owner, Group: sec.Group}
}

// printSecrets adds the observed plain secrets to validate's summary.
func printSecrets(b *strings.Builder, s *config.Settings) {
	if len(s.Secrets) == 0 {
		return
	}
	fmt.Fprintf(b, "\nSecrets:       %d (plain secrets written to files)\n", len(s.Secrets))
	for i, sec := range s.Secrets {
		fmt.Fprintf(b, "\n  %d. %s\n", i+1, sec.URL)
		fmt.Fprintf(b, "     vault:       %s (%s, %s)\n", sec.URL.Vault, sec.URL.Cloud.Name, sec.URL.VaultURL())
		fmt.Fprintf(b, "     secret:      %s, follows the latest version\n", sec.URL.Name)
		owner := "owner the service's (root)"
		if sec.Owner != "" {
			owner = "owner " + sec.Owner
		}
		if sec.Group != "" {
			owner += ", group " + sec.Group
		}
		fmt.Fprintf(b, "     file:        %s (mode %04o, %s)\n", sec.Path, sec.Mode.Perm(), owner)
		if len(sec.ReloadCommand) > 0 {
			fmt.Fprintf(b, "     on change:   run %q (timeout %s)\n", sec.ReloadCommand, sec.ReloadTimeout)
		}
	}
}

// secretsView is the --json form of the observed secrets.
func secretsView(s *config.Settings) []map[string]any {
	out := make([]map[string]any, 0, len(s.Secrets))
	for _, sec := range s.Secrets {
		out = append(out, map[string]any{
			"url": sec.URL.String(), "vault": sec.URL.Vault, "vaultUrl": sec.URL.VaultURL(), "name": sec.URL.Name,
			"path": sec.Path, "mode": fmt.Sprintf("%04o", sec.Mode.Perm()), "owner": sec.Owner, "group": sec.Group,
			"reloadCommand": sec.ReloadCommand, "reloadTimeoutInS": int64(sec.ReloadTimeout.Seconds()),
		})
	}
	return out
}
