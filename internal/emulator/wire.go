package emulator

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// Wire shapes of the secrets API (protocols §2.3–2.4).

// recoverableDays and recoveryLevel describe soft delete as a default vault has it.
const (
	recoverableDays = 90
	recoveryLevel   = "Recoverable+Purgeable"
)

type secretAttributes struct {
	Enabled         *bool  `json:"enabled,omitempty"`
	NotBefore       *int64 `json:"nbf,omitempty"`
	Expires         *int64 `json:"exp,omitempty"`
	Created         *int64 `json:"created,omitempty"`
	Updated         *int64 `json:"updated,omitempty"`
	RecoverableDays *int32 `json:"recoverableDays,omitempty"`
	RecoveryLevel   string `json:"recoveryLevel,omitempty"`
}

type secretBundle struct {
	Value       *string           `json:"value,omitempty"`
	ID          string            `json:"id"`
	ContentType string            `json:"contentType,omitempty"`
	Attributes  secretAttributes  `json:"attributes"`
	Tags        map[string]string `json:"tags,omitempty"`
	Kid         string            `json:"kid,omitempty"`
	Managed     bool              `json:"managed,omitempty"`
	// Deleted-secret fields.
	RecoveryID         string `json:"recoveryId,omitempty"`
	DeletedDate        *int64 `json:"deletedDate,omitempty"`
	ScheduledPurgeDate *int64 `json:"scheduledPurgeDate,omitempty"`
}

type secretItem struct {
	ID          string            `json:"id"`
	Attributes  secretAttributes  `json:"attributes"`
	Tags        map[string]string `json:"tags,omitempty"`
	ContentType string            `json:"contentType,omitempty"`
	Managed     bool              `json:"managed,omitempty"`
}

type secretList struct {
	Value    []secretItem `json:"value"`
	NextLink *string      `json:"nextLink"`
}

// requestAttributes are the attributes a client may set.
type requestAttributes struct {
	Enabled   *bool  `json:"enabled"`
	NotBefore *int64 `json:"nbf"`
	Expires   *int64 `json:"exp"`
}

// setSecretBody is the body of PUT /secrets/{name}.
type setSecretBody struct {
	Value       *string            `json:"value"`
	ContentType *string            `json:"contentType"`
	Attributes  *requestAttributes `json:"attributes"`
	Tags        map[string]string  `json:"tags"`
}

// updateSecretBody is the body of PATCH /secrets/{name}/{version}.
type updateSecretBody struct {
	ContentType *string            `json:"contentType"`
	Attributes  *requestAttributes `json:"attributes"`
	Tags        map[string]string  `json:"tags"`
}

// maxBodyBytes bounds request bodies; Key Vault's own secret limit is 25 KiB.
const maxBodyBytes = 1 << 20

// maxSecretValueBytes is Key Vault's secret size limit.
const maxSecretValueBytes = 25 * 1024

// decodeBody reads a JSON request body into v.
func decodeBody(r *http.Request, v any) *apiError {
	data, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBodyBytes))
	if err != nil {
		return badParameter(fmt.Sprintf("The request body could not be read (at most %d bytes are accepted).", maxBodyBytes))
	}
	return parseBody(data, v)
}

// parseBody decodes a JSON request body; errors never quote the body.
func parseBody(data []byte, v any) *apiError {
	if err := json.Unmarshal(data, v); err != nil {
		return badParameter("The request body is not valid JSON of the expected shape.")
	}
	return nil
}

// validateSetBody checks a set-secret request.
func validateSetBody(b *setSecretBody) *apiError {
	if b.Value == nil {
		return badParameter("The request body has no 'value'; a secret needs a value.")
	}
	if len(*b.Value) > maxSecretValueBytes {
		return badParameter(fmt.Sprintf("The secret value is %d bytes; Key Vault accepts at most %d bytes.", len(*b.Value), maxSecretValueBytes))
	}
	if len(b.Tags) > 15 {
		return badParameter("A secret can carry at most 15 tags.")
	}
	return nil
}
