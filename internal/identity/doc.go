// Package identity gets managed-identity access tokens for akvvm.
//
// A Credential asks the configured token endpoint (msiEndpoint; the Azure
// Instance Metadata Service by default, or Azure Arc's local agent) for a
// token for one resource, such as https://vault.azure.net. It implements
// azcore.TokenCredential, so the Azure SDK's bearer policy can use it.
//
// akvvm has its own small credential because azidentity's
// ManagedIdentityCredential cannot target a custom endpoint: its IMDS URL is
// a constant, yet the extension's settings name the endpoint (msiEndpoint)
// and the built-in emulator serves one at another address.
//
// The credential follows the IMDS guidance: the Metadata: true header, tokens
// cached until shortly before they expire, concurrent callers sharing one
// request, and retries with exponential back-off for 404, 410, 429, 5xx and
// network errors only. A Retry-After on 429 or 503 holds every request back
// until it has passed, in later calls too. Redirects and responses over
// MaxResponseSize are refused, not retried. It answers Azure Arc's challenge (401 with
// WWW-Authenticate: Basic realm=<key file>) by sending the key file's content
// once, reading the file only from Arc's token directory.
//
// Errors name the identity asked for, the endpoint and what it answered; a
// *ResponseError carries the HTTP status. Tokens never appear in errors or logs.
package identity
