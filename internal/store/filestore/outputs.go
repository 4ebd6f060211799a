package filestore

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/akvvm/akvvm/internal/fsutil"
	"github.com/akvvm/akvvm/internal/store"
)

// Output files (store.Outputs) live in one directory per version,
// "<vault>.<certname>.<version>.d", beside the version file, and the link
// "<link>.d" points at the current version's directory. Both links move in
// the same Install or MakeCurrent, and every file of one directory belongs
// to one version, so an application that resolves "<link>.d" once (or
// reads after the reload hook) never pairs a certificate with another
// version's key. All temporaries, also those of files added to an
// existing directory, are created in the store directory with the
// certificate's tag, so Recover finds them in its one listing.

// outputsDirName is the name of a version's output directory.
func outputsDirName(file string) string { return file + ".d" }

// outputsLinkName is the name of the link to the current output directory.
func outputsLinkName(link string) string { return link + store.OutputsLinkSuffix }

// isDir reports whether p is a directory (not following links).
func isDir(p string) bool {
	fi, err := os.Lstat(p)
	return err == nil && fi.IsDir()
}

// linkText is what a link in dir to base holds: base itself when relative,
// else its absolute path as KeyVaultForLinux writes it.
func linkText(dir, base string, relative bool) string {
	if relative {
		return base
	}
	return filepath.Join(dir, base)
}

// linkBase returns the name in dir that a link's text points at, whether
// absolute (dir/name) or relative (name); "" when it points elsewhere.
func linkBase(dir, text string) string {
	if text == "" {
		return ""
	}
	if !strings.Contains(text, "/") {
		if text == "." || text == ".." {
			return ""
		}
		return text
	}
	if filepath.IsAbs(text) && filepath.Dir(text) == dir {
		return filepath.Base(text)
	}
	return ""
}

// outputSource is what the output files are made of.
type outputSource struct {
	leaf  *x509.Certificate
	chain []*x509.Certificate
	key   crypto.PrivateKey
}

func sourceOf(c store.Certificate) outputSource {
	return outputSource{leaf: c.Leaf, chain: c.Chain, key: c.Key}
}

// decodeVersionFile reads back a version file akvvm wrote (encodePEM), so
// a version installed without outputs gets them without a download. The
// leaf must have the recorded thumbprint and match the key.
func decodeVersionFile(data []byte, thumb string) (outputSource, error) {
	var src outputSource
	for rest := data; ; {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		switch blk.Type {
		case "CERTIFICATE":
			c, err := x509.ParseCertificate(blk.Bytes)
			if err != nil {
				return src, fmt.Errorf("reading a certificate of the installed file: %w", err)
			}
			if src.leaf == nil {
				src.leaf = c
			} else {
				src.chain = append(src.chain, c)
			}
		case "PRIVATE KEY":
			k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
			clear(blk.Bytes)
			if err != nil {
				return src, errors.New("reading the private key of the installed file: it is not PKCS #8")
			}
			src.key = k
		}
	}
	switch {
	case src.leaf == nil || src.key == nil:
		return src, errors.New("the installed file lacks the certificate or the key (changed outside akvvm?): akvvm installs the version again")
	case thumb != "" && thumbprint(src.leaf) != thumb:
		return src, errors.New("the installed file holds another certificate than akvvm recorded (changed outside akvvm?)")
	}
	return src, nil
}

// encodeOutputs returns the content of each named output file. The PFX
// password is read from passwordFile (none: the empty password) and is
// never part of an error. The caller clears the contents after use.
func encodeOutputs(src outputSource, names []string, passwordFile string) (map[string][]byte, error) {
	out := map[string][]byte{}
	fail := func(err error) (map[string][]byte, error) {
		for _, b := range out {
			clear(b)
		}
		return nil, err
	}
	pemOf := func(certs ...*x509.Certificate) []byte {
		var b []byte
		for _, c := range certs {
			b = append(b, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
		}
		return b
	}
	for _, n := range names {
		switch n {
		case store.OutputCert:
			out[n] = pemOf(src.leaf)
		case store.OutputChain:
			out[n] = pemOf(src.chain...)
			if out[n] == nil {
				out[n] = []byte{}
			}
		case store.OutputFullChain:
			out[n] = pemOf(append([]*x509.Certificate{src.leaf}, src.chain...)...)
		case store.OutputKey:
			der, err := x509.MarshalPKCS8PrivateKey(src.key)
			if err != nil {
				return fail(fmt.Errorf("encoding the private key as PKCS #8 (key type %T): %w", src.key, err))
			}
			out[n] = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
			clear(der)
		case store.OutputPFX:
			var password []byte
			if passwordFile != "" {
				var err error
				if password, err = store.ReadPasswordFile(passwordFile); err != nil {
					return fail(err)
				}
			}
			der, err := pkcs12.Modern2023.Encode(src.key, src.leaf, src.chain, string(password))
			clear(password)
			if err != nil {
				return fail(fmt.Errorf("encoding the PFX: %w", err))
			}
			out[n] = der
		default:
			return fail(fmt.Errorf("%q is not an output file", n))
		}
	}
	return out, nil
}

// makeTempDir creates a temp directory (mode 0700) for ref in dir.
func makeTempDir(fsys fileSystem, dir string, ref store.Ref) (string, error) {
	for attempt := 0; ; attempt++ {
		var b [8]byte
		_, _ = rand.Read(b[:])
		p := filepath.Join(dir, tempPrefix+tempTag(ref)+"-dir-"+hex.EncodeToString(b[:]))
		err := fsys.Mkdir(p, 0o700)
		if err == nil {
			if err := fsutil.ChmodDir(p, 0o700); err != nil {
				_ = fsys.Remove(p)
				return "", fmt.Errorf("making %s private: %w", p, err)
			}
			return p, nil
		}
		if !errors.Is(err, fs.ErrExist) || attempt == 3 {
			return "", fmt.Errorf("creating a temporary directory in %s: %w", dir, err)
		}
	}
}

// writeOutputsTemp writes files (in the order of names) into a new temp
// directory in dir, grants acls on them, fsyncs the directory and returns
// its path. On failure nothing is left.
func (s *Store) writeOutputsTemp(ctx context.Context, dir string, ref store.Ref, names []string, files map[string][]byte, acls []string) (string, error) {
	tmp, err := makeTempDir(s.fs, dir, ref)
	if err != nil {
		return "", err
	}
	fail := func(err error) (string, error) {
		_ = s.removeOutputsDir(tmp)
		return "", err
	}
	paths := make([]string, 0, len(names))
	for _, n := range names {
		t, err := writeTemp(s.fs, tmp, tempPattern(ref), files[n])
		if err != nil {
			return fail(err)
		}
		p := filepath.Join(tmp, n)
		if err := s.fs.Rename(t, p); err != nil {
			_ = s.fs.Remove(t)
			return fail(fmt.Errorf("renaming %s to %s: %w", t, n, err))
		}
		paths = append(paths, p)
	}
	if len(acls) > 0 {
		if err := s.acl.applyAll(ctx, []string{tmp}, paths, acls); err != nil {
			return fail(err)
		}
	}
	if err := syncDir(s.fs, tmp); err != nil {
		return fail(err)
	}
	return tmp, nil
}

// removeOutputsDir removes an output directory akvvm wrote (or its temp
// directory): its output files and temp files, then the directory. A
// missing directory is fine; one that is no longer a directory, or holds
// files akvvm did not write, stays with a warning (akvvm's files in it
// go). An error means akvvm's files could not all be removed.
func (s *Store) removeOutputsDir(p string) error {
	fi, err := os.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("checking %s: %w", p, err)
	}
	if !fi.IsDir() {
		s.log.Warn("not removing an output directory that is no longer a directory akvvm created", "path", p)
		return nil
	}
	entries, err := os.ReadDir(p)
	if err != nil {
		return fmt.Errorf("listing %s: %w", p, err)
	}
	foreign := false
	for _, e := range entries {
		n := e.Name()
		if !slices.Contains(store.OutputFiles, n) && !isTempName(n) {
			foreign = true
			continue
		}
		if err := removeIfExists(s.fs, filepath.Join(p, n)); err != nil {
			return err
		}
	}
	if foreign {
		s.log.Warn("an output directory holds files akvvm did not write; they and the directory stay", "path", p)
		return nil
	}
	return removeIfExists(s.fs, p)
}

// maxVersionFileSize bounds a version file read back: MaxCertificates
// certificates and a key take a few tens of kilobytes.
const maxVersionFileSize = 1 << 20

// outputsOp is what one Install or MakeCurrent does to the output files
// besides saving the record; installWrite carries it out with the link.
type outputsOp struct {
	link    string // outputs link name; "" when no outputs are wanted
	path    string // the version's output directory
	want    string // the text the outputs link must hold
	current string // the text it holds now, "" when missing
	tmp     string // temp directory to rename to path, "" for none
	// changed says files were written or removed outside tmp (in place,
	// or output directories dropped).
	changed bool
	// oldLink is an outputs link of a previous link name, removed after
	// the switch.
	oldLink string

	renamed, swapped bool
}

// logArgs appends the outputs link to a log line's arguments when there is one.
func (o *outputsOp) logArgs(args ...any) []any {
	if o.link != "" {
		args = append(args, "outputs", o.link)
	}
	return args
}

// moves reports whether the op renames or swaps anything in the store directory.
func (o *outputsOp) moves() bool { return o.tmp != "" || (o.link != "" && o.current != o.want) }

// prepareOutputs brings the output files of version idx of next to what t
// asks for, except the steps installWrite does with the link (renaming a
// new directory into place, swapping the outputs link), and updates next.
// src gives the certificate when files must be written. With no outputs
// wanted, the outputs link and every output directory of the record go,
// before the record forgets them.
func (s *Store) prepareOutputs(ctx context.Context, sess *session, rec, next *record, idx int, t store.Target, link string, src func() (outputSource, error)) (*outputsOp, error) {
	op := &outputsOp{}
	dir := sess.dir
	next.RelativeLinks = t.RelativeLinks
	if !t.Outputs.Any() {
		if rec.OutputsLink == "" && !slices.ContainsFunc(rec.Versions, func(v versionState) bool { return v.Outputs != nil }) {
			return op, nil
		}
		if err := s.removeOutputsLink(dir, &rec.certState, rec.OutputsLink); err != nil {
			return nil, err
		}
		for i := range next.Versions {
			if o := next.Versions[i].Outputs; o != nil {
				if err := s.removeOutputsDir(filepath.Join(dir, o.Dir)); err != nil {
					return nil, err
				}
				if o.Pending != "" {
					if err := s.removeOutputsDir(filepath.Join(dir, o.Pending)); err != nil {
						return nil, err
					}
				}
				next.Versions[i].Outputs = nil
			}
		}
		next.OutputsLink = ""
		op.changed = true
		s.log.Info("removed the output files: the settings ask for none", "link", rec.OutputsLink)
		return op, nil
	}
	op.link = outputsLinkName(link)
	if err := checkLinkName(op.link); err != nil {
		return nil, fmt.Errorf("the outputs link of %q: %w; choose a shorter customSymbolicLinkName", link, err)
	}
	current, err := s.checkOutputsLink(sess, rec, op.link)
	if err != nil {
		return nil, err
	}
	op.current = current
	if rec.OutputsLink != "" && rec.OutputsLink != op.link {
		op.oldLink = rec.OutputsLink
	}
	next.OutputsLink = op.link
	v := &next.Versions[idx]
	op.path = filepath.Join(dir, outputsDirName(v.File))
	op.want = linkText(dir, outputsDirName(v.File), t.RelativeLinks)
	names := t.Outputs.Files()
	acls, err := aclKeys(t.ACLs)
	if err != nil {
		return nil, err
	}
	stamp := ""
	if t.Outputs.PFX {
		stamp = store.PasswordStamp(t.Outputs.PFXPasswordFile)
	}
	fi, err := os.Lstat(op.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		source, err := src()
		if err != nil {
			return nil, err
		}
		files, err := encodeOutputs(source, names, t.Outputs.PFXPasswordFile)
		if err != nil {
			return nil, err
		}
		defer clearAll(files)
		if op.tmp, err = s.writeOutputsTemp(ctx, dir, sess.ref, names, files, acls); err != nil {
			return nil, err
		}
		v.Outputs = &outputState{Dir: outputsDirName(v.File), Files: names, ACLs: acls, PasswordFile: stamp, Pending: filepath.Base(op.tmp)}
		return op, nil
	case err != nil:
		return nil, fmt.Errorf("checking %s: %w", op.path, err)
	case !fi.IsDir() || v.Outputs == nil:
		return nil, fmt.Errorf("%s exists but akvvm did not create it: move it away so akvvm can write the output files of this version", op.path)
	}
	changed, err := s.refreshOutputs(ctx, sess, op.path, v.Outputs, names, acls, stamp, t.Outputs.PFXPasswordFile, src)
	if err != nil {
		return nil, err
	}
	op.changed = changed
	return op, nil
}

// refreshOutputs makes the existing output directory path of one version
// hold exactly the files named: missing ones (and a PFX whose password
// file changed) are written to temp files in the store directory and
// renamed in, unwanted ones removed, new ACLs granted. Every file of the
// directory stays of the same version, so it may be current meanwhile.
// It updates have and reports whether anything changed.
func (s *Store) refreshOutputs(ctx context.Context, sess *session, path string, have *outputState, names, acls []string, stamp, passwordFile string, src func() (outputSource, error)) (bool, error) {
	var write []string
	for _, n := range names {
		if !slices.Contains(have.Files, n) || !regularFile(filepath.Join(path, n)) || (n == store.OutputPFX && have.PasswordFile != stamp) {
			write = append(write, n)
		}
	}
	var drop []string
	for _, n := range have.Files {
		if !slices.Contains(names, n) {
			drop = append(drop, n)
		}
	}
	newACLs := !isSubset(acls, have.ACLs)
	if len(write) == 0 && len(drop) == 0 && !newACLs {
		return false, nil
	}
	if len(write) > 0 {
		source, err := src()
		if err != nil {
			return false, err
		}
		files, err := encodeOutputs(source, write, passwordFile)
		if err != nil {
			return false, err
		}
		defer clearAll(files)
		for _, n := range write {
			tmp, err := writeTemp(s.fs, sess.dir, tempPattern(sess.ref), files[n])
			if err != nil {
				return false, err
			}
			if len(acls) > 0 {
				if err := s.acl.applyAll(ctx, []string{path}, []string{tmp}, acls); err != nil {
					_ = s.fs.Remove(tmp)
					return false, err
				}
			}
			if err := s.fs.Rename(tmp, filepath.Join(path, n)); err != nil {
				_ = s.fs.Remove(tmp)
				return false, fmt.Errorf("renaming %s into %s: %w", tmp, path, err)
			}
		}
	}
	for _, n := range drop {
		if err := removeIfExists(s.fs, filepath.Join(path, n)); err != nil {
			return false, err
		}
	}
	if newACLs {
		var keep []string
		for _, n := range names {
			if !slices.Contains(write, n) {
				keep = append(keep, filepath.Join(path, n))
			}
		}
		if len(keep) > 0 {
			if err := s.acl.applyAll(ctx, []string{path}, keep, acls); err != nil {
				return false, err
			}
		}
		have.ACLs = union(have.ACLs, acls)
	}
	if err := syncDir(s.fs, path); err != nil {
		return false, err
	}
	have.Files = names
	if slices.Contains(names, store.OutputPFX) {
		have.PasswordFile = stamp
	} else {
		have.PasswordFile = ""
	}
	s.log.Info("updated the output files of an installed version", "dir", filepath.Base(path), "files", strings.Join(names, ","))
	return true, nil
}

func clearAll(files map[string][]byte) {
	for _, b := range files {
		clear(b)
	}
}

// checkOutputsLink refuses an outputs link name taken by something akvvm
// did not create and returns the link's text ("" if there is none). An
// unrecorded link is accepted when it points at an output directory of
// this certificate (akvvm stopped before saving its record).
func (s *Store) checkOutputsLink(sess *session, rec *record, name string) (string, error) {
	p := filepath.Join(sess.dir, name)
	fi, err := os.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("checking symbolic link %s: %w", p, err)
	}
	if fi.Mode()&fs.ModeSymlink == 0 {
		return "", fmt.Errorf("%s exists and is not a symbolic link akvvm created: move it away, or set customSymbolicLinkName to another name (the output files' link is its name with %s)", p, store.OutputsLinkSuffix)
	}
	text, err := os.Readlink(p)
	if err != nil {
		return "", fmt.Errorf("reading symbolic link %s: %w", p, err)
	}
	if rec.OutputsLink == name || ownsOutputsDir(sess.ref, linkBase(sess.dir, text)) {
		return text, nil
	}
	return "", fmt.Errorf("symbolic link %s -> %s was not created by akvvm: move it away, or set customSymbolicLinkName to another name (the output files' link is its name with %s)", p, text, store.OutputsLinkSuffix)
}

// ownsOutputsDir reports whether base names an output directory of ref.
func ownsOutputsDir(ref store.Ref, base string) bool {
	stem, ok := strings.CutSuffix(base, ".d")
	if !ok {
		return false
	}
	owner, _, ok := refOfFile(stem)
	return ok && owner == ref
}

// removeOutputsLink removes cs's outputs link name while it is a symbolic
// link to one of cs's output directories; anything else there stays.
func (s *Store) removeOutputsLink(dir string, cs *certState, name string) error {
	if name == "" {
		return nil
	}
	p := filepath.Join(dir, name)
	fi, err := os.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("checking symbolic link %s: %w", p, err)
	}
	if fi.Mode()&fs.ModeSymlink == 0 {
		s.log.Warn("not removing a file that is not the symbolic link akvvm created", "file", p)
		return nil
	}
	text, err := os.Readlink(p)
	if err != nil {
		return fmt.Errorf("reading symbolic link %s: %w", p, err)
	}
	if !ownsOutputsDir(cs.ref(), linkBase(dir, text)) {
		s.log.Warn("not removing a symbolic link that no longer points at output files akvvm wrote", "link", p, "target", text)
		return nil
	}
	if err := s.fs.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing symbolic link %s: %w", p, err)
	}
	s.log.Info("removed symbolic link", "link", name)
	return nil
}

// outputsCurrent reports whether the output files of v are what t asks
// for and the outputs link points at them, so v may be listed as current.
// With no outputs wanted, none may be recorded. It costs a readlink, an
// lstat and, with a PFX, a stat of the password file.
func outputsCurrent(dir string, rec *record, v versionState, t store.Target, link string) bool {
	if !t.Outputs.Any() {
		return rec.OutputsLink == ""
	}
	o := v.Outputs
	if o == nil || rec.OutputsLink != outputsLinkName(link) {
		return false
	}
	text, err := os.Readlink(filepath.Join(dir, rec.OutputsLink))
	if err != nil || text != linkText(dir, o.Dir, t.RelativeLinks) || !isDir(filepath.Join(dir, o.Dir)) {
		return false
	}
	if !slices.Equal(o.Files, t.Outputs.Files()) {
		return false
	}
	if acls, err := aclKeys(t.ACLs); err != nil || !isSubset(acls, o.ACLs) {
		return false
	}
	return !t.Outputs.PFX || o.PasswordFile == store.PasswordStamp(t.Outputs.PFXPasswordFile)
}
