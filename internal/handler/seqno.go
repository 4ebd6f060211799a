package handler

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/akvvm/akvvm/internal/fsutil"
)

// SeqEnv is the environment variable the guest agent sets to the sequence
// number it wants processed.
const SeqEnv = "ConfigSequenceNumber"

// mrseqFile holds the last processed sequence number, in the handler
// directory, which the guest agent carries over on upgrade.
const mrseqFile = "mrseq"

// RequestedSeq returns the sequence number to process: envValue (the
// ConfigSequenceNumber variable) when it is a number, else the
// <n>.settings file in configFolder modified last, the highest on ties.
func RequestedSeq(configFolder, envValue string) (int, error) {
	if n, err := strconv.ParseUint(strings.TrimSpace(envValue), 10, 31); err == nil {
		return int(n), nil
	}
	entries, err := os.ReadDir(configFolder)
	if err != nil {
		return 0, fmt.Errorf("read the settings folder: %w", err)
	}
	best := -1
	var bestTime int64
	for _, en := range entries {
		n, ok := settingsSeq(en.Name())
		if !ok || en.IsDir() {
			continue
		}
		fi, err := en.Info()
		if err != nil {
			continue
		}
		mt := fi.ModTime().UnixNano()
		if best < 0 || mt > bestTime || (mt == bestTime && n > best) {
			best, bestTime = n, mt
		}
	}
	if best < 0 {
		return 0, fmt.Errorf("no <n>.settings file in %s and %s is not set: the guest agent writes the settings before enable", configFolder, SeqEnv)
	}
	return best, nil
}

// settingsSeq parses "<n>.settings".
func settingsSeq(name string) (int, bool) {
	num, ok := strings.CutSuffix(name, ".settings")
	if !ok || num == "" {
		return 0, false
	}
	n, err := strconv.ParseUint(num, 10, 31)
	return int(n), err == nil
}

// SettingsPath is the settings file of seq.
func SettingsPath(configFolder string, seq int) string {
	return filepath.Join(configFolder, strconv.Itoa(seq)+".settings")
}

// ReadSettings returns the content of the settings file of seq; nil when
// the file is empty or holds only white space, which means "no settings".
// The guest agent writes it as a regular file; a link there is refused.
func ReadSettings(configFolder string, seq int) ([]byte, error) {
	data, err := fsutil.ReadFile(SettingsPath(configFolder, seq), fsutil.MaxReadSize)
	if err != nil {
		return nil, fmt.Errorf("read the settings of sequence number %d: %w", seq, err)
	}
	if len(strings.TrimSpace(string(data))) == 0 {
		return nil, nil
	}
	return data, nil
}

// maxMRSeqSize bounds the mrseq file, which holds one number.
const maxMRSeqSize = 4096

// ReadMRSeq returns the last processed sequence number; ok is false when
// none was recorded. A link there is refused, not followed.
func ReadMRSeq(dir string) (seq int, ok bool, err error) {
	data, err := fsutil.ReadFile(filepath.Join(dir, mrseqFile), maxMRSeqSize)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("read the last processed sequence number: %w", err)
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(data)), 10, 31)
	if err != nil {
		// A damaged file means the next enable runs again, which is harmless.
		return 0, false, nil
	}
	return int(n), true, nil
}

// WriteMRSeq records seq as processed.
func WriteMRSeq(dir string, seq int) error {
	if err := fsutil.WriteFileAtomic(filepath.Join(dir, mrseqFile), []byte(strconv.Itoa(seq)), 0o600); err != nil {
		return fmt.Errorf("record sequence number %d: %w", seq, err)
	}
	return nil
}
