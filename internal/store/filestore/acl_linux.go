package filestore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
)

// execSetfacl runs the setfacl program of the acl package.
type execSetfacl struct{}

func (execSetfacl) Setfacl(ctx context.Context, args ...string) error {
	path, err := exec.LookPath("setfacl")
	if err != nil {
		return fmt.Errorf("%w (%w)", errNoSetfacl, err)
	}
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("setfacl %s: %s: %w", strings.Join(args, " "), strings.TrimSpace(out.String()), err)
	}
	return nil
}

// errNoSetfacl says how to get setfacl.
var errNoSetfacl = errors.New("setfacl is not installed: install the acl package (apt-get install acl) or turn aclEnabled off")
