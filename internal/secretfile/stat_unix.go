//go:build !windows

package secretfile

import (
	"fmt"
	"io/fs"
	"syscall"

	"github.com/akvvm/akvvm/internal/fsutil"
)

// identify reads the identity of the file fi describes.
func identify(fi fs.FileInfo) fileID {
	id := fileID{Size: fi.Size(), ModTime: fi.ModTime().UnixNano()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		id.Dev, id.Ino = uint64(st.Dev), st.Ino
	}
	return id
}

// ownerDiffers says how the file's owner differs from want, or "".
func ownerDiffers(fi fs.FileInfo, want fsutil.Owner) string {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return ""
	}
	if want.UID >= 0 && int(st.Uid) != want.UID {
		return fmt.Sprintf("its owner is uid %d, the settings ask for uid %d", st.Uid, want.UID)
	}
	if want.GID >= 0 && int(st.Gid) != want.GID {
		return fmt.Sprintf("its group is gid %d, the settings ask for gid %d", st.Gid, want.GID)
	}
	return ""
}

// supported reports whether secret files can be written here.
func supported() error { return nil }
