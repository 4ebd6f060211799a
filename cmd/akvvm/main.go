// Command akvvm keeps certificates from Azure Key Vault installed on a machine.
package main

import (
	"errors"
	"fmt"
	"os"
)

func main() {
	err := newRootCommand().Execute()
	var ee exitError
	var ce codedError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		os.Exit(ee.code)
	case errors.As(err, &ce):
		fmt.Fprintln(os.Stderr, "akvvm:", err)
		os.Exit(ce.code)
	default:
		fmt.Fprintln(os.Stderr, "akvvm:", err)
		os.Exit(1)
	}
}
