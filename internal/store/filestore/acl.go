package filestore

import (
	"context"
	"fmt"
	"os/user"
	"slices"
	"strings"

	"github.com/akvvm/akvvm/internal/store"
)

// aclRunner runs setfacl with the given arguments.
type aclRunner interface {
	Setfacl(ctx context.Context, args ...string) error
}

// idResolver turns user and group names into numeric ids.
type idResolver interface {
	UserID(name string) (string, error)
	GroupID(name string) (string, error)
}

// osResolver resolves names with os/user.
type osResolver struct{}

func (osResolver) UserID(name string) (string, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return "", err
	}
	return u.Uid, nil
}

func (osResolver) GroupID(name string) (string, error) {
	g, err := user.LookupGroup(name)
	if err != nil {
		return "", err
	}
	return g.Gid, nil
}

// aclKeys returns the grants of acls as sorted "u:NAME" / "g:NAME" keys, the
// form recorded in the state file.
func aclKeys(acls []store.ACL) ([]string, error) {
	var keys []string
	for i, a := range acls {
		if a.User == "" && a.Group == "" {
			return nil, fmt.Errorf("acls[%d] names neither a user nor a group: give user, group or both", i)
		}
		if a.User != "" {
			keys = append(keys, "u:"+a.User)
		}
		if a.Group != "" {
			keys = append(keys, "g:"+a.Group)
		}
	}
	slices.Sort(keys)
	return slices.Compact(keys), nil
}

// aclApplier grants read access on installed files with POSIX ACLs.
type aclApplier struct {
	run     aclRunner
	resolve idResolver
}

// apply grants every key read (r--) on file and search (--x) on dir. Names
// are resolved to numeric ids first, so what was checked is what is applied;
// all unknown names are reported together.
func (a aclApplier) apply(ctx context.Context, dir, file string, keys []string) error {
	return a.applyAll(ctx, []string{dir}, []string{file}, keys)
}

// applyAll grants every key read on each of files and search on each of
// dirs, with one setfacl run for the files and one for the directories.
func (a aclApplier) applyAll(ctx context.Context, dirs, files []string, keys []string) error {
	var ids, unknown []string
	for _, k := range keys {
		kind, name, _ := strings.Cut(k, ":")
		var id string
		var err error
		var what string
		if kind == "u" {
			what = "user"
			id, err = a.resolve.UserID(name)
		} else {
			what = "group"
			id, err = a.resolve.GroupID(name)
		}
		if err != nil {
			unknown = append(unknown, fmt.Sprintf("%s %q", what, name))
			continue
		}
		ids = append(ids, kind+":"+id)
	}
	if len(unknown) > 0 {
		return fmt.Errorf("cannot grant access to unknown %s: create them on this machine or fix acls in the settings", strings.Join(unknown, ", "))
	}
	spec := func(perm string) string {
		entries := make([]string, len(ids))
		for i, id := range ids {
			entries[i] = id + ":" + perm
		}
		return strings.Join(entries, ",")
	}
	if err := a.run.Setfacl(ctx, append([]string{"-m", spec("r--"), "--"}, files...)...); err != nil {
		return fmt.Errorf("granting read access on %s: %w", strings.Join(files, ", "), err)
	}
	if err := a.run.Setfacl(ctx, append([]string{"-m", spec("--x"), "--"}, dirs...)...); err != nil {
		return fmt.Errorf("granting search access on %s: %w", strings.Join(dirs, ", "), err)
	}
	return nil
}
