package keyvault

import (
	"errors"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
)

// Hint says what the failure means and what to do, without the call's
// subject; it is empty when there is no advice for the answer.
func (e *Error) Hint() string {
	var re *azcore.ResponseError
	if !errors.As(e.Err, &re) {
		return ""
	}
	text, _ := explain(re.StatusCode, e.ErrorCode(), e.Version)
	return text
}

// Message returns Key Vault's own message of the error answer, shortened
// to one line; it is empty when the body was not Key Vault's.
func (e *Error) Message() string { return shorten(e.message, 300) }
