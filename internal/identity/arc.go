package identity

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// maxArcKeySize bounds the Arc key file; real ones hold a short secret, and
// a bound keeps a wrong realm from making akvvm read a large file.
const maxArcKeySize = 4 << 10

// parseBasicRealm returns the realm of a WWW-Authenticate header of the form
// `Basic realm=<path>` (the path may be quoted). Backslashes are kept as
// they are, since Windows paths use them.
func parseBasicRealm(header string) (string, bool) {
	scheme, params, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "Basic") {
		return "", false
	}
	params = strings.TrimSpace(params)
	name, value, ok := strings.Cut(params, "=")
	if !ok || !strings.EqualFold(strings.TrimSpace(name), "realm") {
		return "", false
	}
	value = strings.TrimSpace(value)
	if rest, quoted := strings.CutPrefix(value, `"`); quoted {
		value, _, ok = strings.Cut(rest, `"`)
		if !ok {
			return "", false
		}
	} else if i := strings.IndexByte(value, ','); i >= 0 {
		value = strings.TrimSpace(value[:i])
	}
	return value, value != ""
}

// readArcKey reads the Azure Arc key file named by a challenge's realm.
//
// The file must lie inside dir (Arc's token directory, or ArcKeyDir), even
// after following symbolic links, end in ".key" and be small. The endpoint
// chooses the realm, so without these checks a malicious or spoofed
// endpoint could make akvvm, which runs as root, read any file and send its
// content to the endpoint. Errors never quote the content.
func readArcKey(realm, dir string) (string, error) {
	if dir == "" {
		return "", errors.New("the Azure Arc challenge: this platform has no Arc token directory; set ArcKeyDir")
	}
	if !filepath.IsAbs(realm) || filepath.Ext(realm) != ".key" {
		return "", fmt.Errorf("the Azure Arc challenge names %q, which is not an absolute path to a .key file; check msiEndpoint is the Azure Arc agent", limitText(realm, 200))
	}
	// Check the names before touching the file system, then again after
	// resolving links, so a link inside dir cannot point outside it.
	if !within(filepath.Clean(dir), filepath.Clean(realm)) {
		return "", fmt.Errorf("the Azure Arc challenge names %q, outside the Arc token directory %s; refusing to read it (check msiEndpoint is the Azure Arc agent)", limitText(realm, 200), dir)
	}
	realDir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return "", fmt.Errorf("the Azure Arc challenge: resolve the Arc token directory: %w", err)
	}
	realPath, err := filepath.EvalSymlinks(realm)
	if err != nil {
		return "", fmt.Errorf("the Azure Arc challenge: resolve the key file%s: %w", permissionHint(err), err)
	}
	if !within(realDir, realPath) {
		return "", fmt.Errorf("the Azure Arc challenge names %q, which links outside the Arc token directory %s; refusing to read it", limitText(realm, 200), dir)
	}
	f, err := os.Open(realPath)
	if err != nil {
		return "", fmt.Errorf("the Azure Arc challenge: open the key file%s: %w", permissionHint(err), err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("the Azure Arc challenge: stat the key file: %w", err)
	}
	if !info.Mode().IsRegular() || info.Size() > maxArcKeySize {
		return "", fmt.Errorf("the Azure Arc challenge: %s is not a regular file of at most %d bytes; refusing to send it", realm, maxArcKeySize)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxArcKeySize+1))
	if err != nil {
		return "", fmt.Errorf("the Azure Arc challenge: read the key file: %w", err)
	}
	key := strings.TrimSpace(string(data))
	if len(data) > maxArcKeySize || key == "" || strings.ContainsAny(key, "\r\n\x00") {
		return "", fmt.Errorf("the Azure Arc challenge: %s is empty, too large or spans several lines; it is not an Arc key", realm)
	}
	return key, nil
}

// permissionHint explains a permission error on the key file.
func permissionHint(err error) string {
	if errors.Is(err, fs.ErrPermission) {
		return " (akvvm must run as root, or as an administrator on Windows, to read Arc key files)"
	}
	return ""
}

// within reports whether path lies strictly inside dir; both must be clean.
func within(dir, path string) bool {
	rel, err := filepath.Rel(dir, path)
	if err != nil || rel == "." || rel == ".." || filepath.IsAbs(rel) {
		return false
	}
	return !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}
