package secretfile

import (
	"errors"
	"fmt"
	"os/user"
	"strconv"

	"github.com/akvvm/akvvm/internal/fsutil"
)

// resolve turns t's owner and group, names or numeric ids, into ids; -1
// for one not given.
func resolve(t Target) (fsutil.Owner, error) {
	o := fsutil.Owner{UID: -1, GID: -1}
	if t.Owner != "" {
		id, err := lookupID(t.Owner, func(name string) (string, error) {
			u, err := user.Lookup(name)
			if err != nil {
				return "", err
			}
			return u.Uid, nil
		})
		if err != nil {
			return o, fmt.Errorf("owner %q of secret file %s: %w; create the user, or give owner as a name or numeric id that exists on this machine", t.Owner, t.Path, err)
		}
		o.UID = id
	}
	if t.Group != "" {
		id, err := lookupID(t.Group, func(name string) (string, error) {
			g, err := user.LookupGroup(name)
			if err != nil {
				return "", err
			}
			return g.Gid, nil
		})
		if err != nil {
			return o, fmt.Errorf("group %q of secret file %s: %w; create the group, or give group as a name or numeric id that exists on this machine", t.Group, t.Path, err)
		}
		o.GID = id
	}
	return o, nil
}

// lookupID returns a numeric id as it is, and looks a name up.
func lookupID(s string, lookup func(string) (string, error)) (int, error) {
	if n, err := strconv.Atoi(s); err == nil && n >= 0 {
		return n, nil
	}
	id, err := lookup(s)
	if err != nil {
		var unknownUser user.UnknownUserError
		var unknownGroup user.UnknownGroupError
		if errors.As(err, &unknownUser) || errors.As(err, &unknownGroup) {
			return 0, errors.New("not known on this machine")
		}
		return 0, err
	}
	n, err := strconv.Atoi(id)
	if err != nil {
		return 0, fmt.Errorf("id %q is not numeric", id)
	}
	return n, nil
}

// Resolve checks that t's owner and group exist on this machine; validate
// and doctor use it.
func Resolve(t Target) error {
	_, err := resolve(t)
	return err
}
