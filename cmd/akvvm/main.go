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
	switch {
	case err == nil:
	case errors.As(err, &ee):
		os.Exit(ee.code)
	default:
		fmt.Fprintln(os.Stderr, "akvvm:", err)
		os.Exit(1)
	}
}
