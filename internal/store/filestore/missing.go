package filestore

// MissingVersions names the recorded versions whose files are gone, so
// that the agent can tell a wanted one (installed again) from the others
// (dropped from the record).
func (e *MissingFilesError) MissingVersions() []string {
	out := make([]string, len(e.Missing))
	for i, m := range e.Missing {
		out[i] = m.Version
	}
	return out
}
