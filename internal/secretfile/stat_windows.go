package secretfile

import (
	"errors"
	"io/fs"

	"github.com/akvvm/akvvm/internal/fsutil"
)

// ErrWindows refuses secret files on Windows.
var ErrWindows = errors.New("observedSecrets (plain secrets written to files) is an akvvm option of Linux only: on Windows read the secret from Key Vault in the application, or deliver it as a certificate")

func identify(fi fs.FileInfo) fileID {
	return fileID{Size: fi.Size(), ModTime: fi.ModTime().UnixNano()}
}

func ownerDiffers(fs.FileInfo, fsutil.Owner) string { return "" }

func supported() error { return ErrWindows }
