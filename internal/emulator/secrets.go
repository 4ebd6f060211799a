package emulator

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// pageSize is Key Vault's default and maximum page size of list operations.
const pageSize = 25

// vaultBase is the vault URL used in ids: "https://<vault>.<suffix>".
func vaultBase(v *vaultState) string {
	return "https://" + v.Name + "." + cloudByName(v.Cloud).VaultSuffix
}

func attributesOf(ver *versionState) secretAttributes {
	enabled, created, updated, days := ver.Enabled, ver.Created, ver.Updated, int32(recoverableDays)
	return secretAttributes{
		Enabled: &enabled, NotBefore: ver.NotBefore, Expires: ver.Expires, Created: &created, Updated: &updated,
		RecoverableDays: &days, RecoveryLevel: recoveryLevel,
	}
}

// bundleOf renders a version; withValue includes the secret value.
func bundleOf(v *vaultState, s *secretState, ver *versionState, withValue bool) secretBundle {
	b := secretBundle{
		ID:          vaultBase(v) + "/secrets/" + s.Name + "/" + ver.Version,
		ContentType: ver.ContentType,
		Attributes:  attributesOf(ver),
		Tags:        ver.Tags,
		Managed:     ver.Managed,
	}
	if withValue {
		val := ver.Value
		b.Value = &val
	}
	if ver.Managed {
		b.Kid = vaultBase(v) + "/keys/" + s.Name + "/" + ver.Version
	}
	return b
}

// lookup returns the vault, secret and version, or the error to answer.
// The caller holds e.mu.
func (e *Emulator) lookup(vaultKey string, vr vaultRequest) (*vaultState, *secretState, *versionState, *apiError) {
	v := e.st.Vaults[vaultKey]
	if v == nil {
		return nil, nil, nil, &apiError{status: http.StatusNotFound, code: "VaultNotFound", message: "The vault was deleted."}
	}
	s := v.Secrets[strings.ToLower(vr.secret)]
	if s == nil {
		return v, nil, nil, secretNotFound(vr.secret)
	}
	ver := s.find(vr.version)
	if ver == nil {
		id := vr.secret
		if vr.version != "" {
			id += "/" + vr.version
		}
		return v, s, nil, secretNotFound(id)
	}
	return v, s, ver, nil
}

func (e *Emulator) getSecret(w http.ResponseWriter, vaultKey string, vr vaultRequest) {
	e.mu.Lock()
	v, s, ver, aerr := e.lookup(vaultKey, vr)
	var b secretBundle
	if aerr == nil && !ver.Enabled {
		aerr = &apiError{status: http.StatusForbidden, code: "Forbidden", inner: "SecretDisabled",
			message: "Operation get is not allowed on a disabled secret."}
	}
	if aerr == nil {
		b = bundleOf(v, s, ver, true)
	}
	e.mu.Unlock()
	if aerr != nil {
		writeAPIError(w, aerr)
		return
	}
	writeJSON(w, http.StatusOK, b)
}

func (e *Emulator) setSecret(w http.ResponseWriter, r *http.Request, vaultKey string, vr vaultRequest) {
	var body setSecretBody
	if aerr := decodeBody(r, &body); aerr != nil {
		writeAPIError(w, aerr)
		return
	}
	if aerr := validateSetBody(&body); aerr != nil {
		writeAPIError(w, aerr)
		return
	}
	spec := SecretSpec{Value: *body.Value, Tags: body.Tags}
	if body.ContentType != nil {
		spec.ContentType = *body.ContentType
	}
	if a := body.Attributes; a != nil {
		spec.Enabled, spec.NotBefore, spec.Expires = a.Enabled, unixTime(a.NotBefore), unixTime(a.Expires)
	}
	e.mu.Lock()
	v := e.st.Vaults[vaultKey]
	s, ver, err := e.addVersionLocked(v, vr.secret, spec, false)
	var b secretBundle
	if err == nil {
		b = bundleOf(v, s, ver, true)
	}
	e.mu.Unlock()
	if err != nil {
		writeAPIError(w, &apiError{status: http.StatusInternalServerError, code: "InternalServerError", message: err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, b)
}

func (e *Emulator) updateSecret(w http.ResponseWriter, r *http.Request, vaultKey string, vr vaultRequest) {
	var body updateSecretBody
	if aerr := decodeBody(r, &body); aerr != nil {
		writeAPIError(w, aerr)
		return
	}
	e.mu.Lock()
	v, s, ver, aerr := e.lookup(vaultKey, vr)
	var b secretBundle
	var err error
	if aerr == nil {
		if body.ContentType != nil {
			ver.ContentType = *body.ContentType
		}
		if body.Tags != nil {
			ver.Tags = body.Tags
		}
		if a := body.Attributes; a != nil {
			if a.Enabled != nil {
				ver.Enabled = *a.Enabled
			}
			if a.NotBefore != nil {
				ver.NotBefore = a.NotBefore
			}
			if a.Expires != nil {
				ver.Expires = a.Expires
			}
		}
		ver.Updated = e.now().Unix()
		b = bundleOf(v, s, ver, false)
		err = e.saveLocked()
	}
	e.mu.Unlock()
	switch {
	case aerr != nil:
		writeAPIError(w, aerr)
	case err != nil:
		writeAPIError(w, &apiError{status: http.StatusInternalServerError, code: "InternalServerError", message: err.Error()})
	default:
		writeJSON(w, http.StatusOK, b)
	}
}

func (e *Emulator) deleteSecret(w http.ResponseWriter, vaultKey string, vr vaultRequest) {
	e.mu.Lock()
	v, s, ver, aerr := e.lookup(vaultKey, vaultRequest{secret: vr.secret})
	var b secretBundle
	var err error
	if aerr == nil {
		b = bundleOf(v, s, ver, false)
		now := e.now()
		deleted, purge := now.Unix(), now.Add(recoverableDays*24*time.Hour).Unix()
		b.RecoveryID = vaultBase(v) + "/deletedsecrets/" + s.Name
		b.DeletedDate, b.ScheduledPurgeDate = &deleted, &purge
		delete(v.Secrets, strings.ToLower(vr.secret))
		err = e.saveLocked()
	}
	e.mu.Unlock()
	switch {
	case aerr != nil:
		writeAPIError(w, aerr)
	case err != nil:
		writeAPIError(w, &apiError{status: http.StatusInternalServerError, code: "InternalServerError", message: err.Error()})
	default:
		writeJSON(w, http.StatusOK, b)
	}
}

func (e *Emulator) listVersions(w http.ResponseWriter, r *http.Request, vaultKey string, vr vaultRequest) {
	offset, limit, aerr := pageParams(r.URL.Query())
	if aerr != nil {
		writeAPIError(w, aerr)
		return
	}
	e.mu.Lock()
	v, s, _, aerr := e.lookup(vaultKey, vaultRequest{secret: vr.secret})
	var items []secretItem
	total := 0
	if aerr == nil {
		total = len(s.Versions)
		for _, ver := range window(s.Versions, offset, limit) {
			items = append(items, secretItem{ID: vaultBase(v) + "/secrets/" + s.Name + "/" + ver.Version,
				Attributes: attributesOf(ver), Tags: ver.Tags, ContentType: ver.ContentType, Managed: ver.Managed})
		}
	}
	e.mu.Unlock()
	if aerr != nil {
		writeAPIError(w, aerr)
		return
	}
	writeJSON(w, http.StatusOK, secretList{Value: nonNil(items), NextLink: nextLink(r, offset+limit, total)})
}

func (e *Emulator) listSecrets(w http.ResponseWriter, r *http.Request, vaultKey string) {
	offset, limit, aerr := pageParams(r.URL.Query())
	if aerr != nil {
		writeAPIError(w, aerr)
		return
	}
	e.mu.Lock()
	v := e.st.Vaults[vaultKey]
	names := v.sortedSecretNames()
	var items []secretItem
	for _, n := range window(names, offset, limit) {
		s := v.Secrets[n]
		ver := s.latest()
		items = append(items, secretItem{ID: vaultBase(v) + "/secrets/" + s.Name,
			Attributes: attributesOf(ver), Tags: ver.Tags, ContentType: ver.ContentType, Managed: ver.Managed})
	}
	e.mu.Unlock()
	writeJSON(w, http.StatusOK, secretList{Value: nonNil(items), NextLink: nextLink(r, offset+limit, len(names))})
}

func nonNil(items []secretItem) []secretItem {
	if items == nil {
		return []secretItem{}
	}
	return items
}

// window returns s[offset:offset+limit], clamped.
func window[T any](s []T, offset, limit int) []T {
	if offset >= len(s) {
		return nil
	}
	return s[offset:min(len(s), offset+limit)]
}

// pageParams reads maxresults and $skiptoken.
func pageParams(q url.Values) (offset, limit int, aerr *apiError) {
	limit = pageSize
	if m := q.Get("maxresults"); m != "" {
		n, err := strconv.Atoi(m)
		if err != nil || n < 1 || n > pageSize {
			return 0, 0, badParameter("The 'maxresults' parameter must be a number from 1 to 25.")
		}
		limit = n
	}
	if tok := q.Get("$skiptoken"); tok != "" {
		n, err := parseSkipToken(tok)
		if err != nil {
			return 0, 0, badParameter("The '$skiptoken' parameter is invalid; use the nextLink of the previous page as is.")
		}
		offset = n
	}
	return offset, limit, nil
}

const skipTokenPrefix = "akvvm-offset:"

func makeSkipToken(offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte(skipTokenPrefix + strconv.Itoa(offset)))
}

// parseSkipToken decodes a $skiptoken made by makeSkipToken.
func parseSkipToken(tok string) (int, error) {
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return 0, err
	}
	s, ok := strings.CutPrefix(string(raw), skipTokenPrefix)
	if !ok {
		return 0, strconv.ErrSyntax
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > 1<<30 {
		return 0, strconv.ErrRange
	}
	return n, nil
}

// nextLink returns the full URL of the page starting at next, or nil.
func nextLink(r *http.Request, next, total int) *string {
	if next >= total {
		return nil
	}
	q := "api-version=" + url.QueryEscape(r.URL.Query().Get("api-version")) + "&$skiptoken=" + makeSkipToken(next)
	if m := r.URL.Query().Get("maxresults"); m != "" {
		q += "&maxresults=" + url.QueryEscape(m)
	}
	link := "https://" + r.Host + r.URL.Path + "?" + q
	return &link
}

func unixTime(p *int64) *time.Time {
	if p == nil {
		return nil
	}
	t := time.Unix(*p, 0).UTC()
	return &t
}
