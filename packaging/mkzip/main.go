// Command mkzip builds and checks the akvvm extension packages.
//
//	go run ./packaging/mkzip -goos linux -binary dist/linux_amd64/akvvm -out dist/akvvm-linux-amd64.zip
//	go run ./packaging/mkzip -check dist/akvvm-linux-amd64.zip
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/akvvm/akvvm/packaging"
)

func main() {
	goos := flag.String("goos", "", "platform of the package: linux or windows")
	binary := flag.String("binary", "", "akvvm binary built for that platform")
	out := flag.String("out", "", "zip file to write")
	check := flag.Bool("check", false, "check the zip files given as arguments (platform from the name: akvvm-<goos>-<arch>.zip)")
	flag.Parse()
	if err := run(*goos, *binary, *out, *check, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "mkzip:", err)
		os.Exit(1)
	}
}

func run(goos, binary, out string, check bool, args []string) error {
	if check {
		if len(args) == 0 {
			return fmt.Errorf("-check needs the zip files to check")
		}
		for _, p := range args {
			parts := strings.Split(strings.TrimSuffix(filepath.Base(p), ".zip"), "-")
			if len(parts) != 3 {
				return fmt.Errorf("%s: name it akvvm-<goos>-<arch>.zip", p)
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if err := packaging.Check(data, parts[1]); err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
			fmt.Println("ok", p)
		}
		return nil
	}
	if goos == "" || binary == "" || out == "" {
		return fmt.Errorf("-goos, -binary and -out are required")
	}
	var buf bytes.Buffer
	if err := packaging.Build(&buf, goos, binary); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	return os.WriteFile(out, buf.Bytes(), 0o644)
}
