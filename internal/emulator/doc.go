// Package emulator is a local Azure Key Vault (secrets API) and managed-identity
// endpoint, for demos and tests of akvvm and of any Key Vault client.
//
// One Emulator serves any number of vaults over HTTPS under their real host
// names (myvault.vault.azure.net, sovereign clouds too) with a certificate from
// its own CA, and an IMDS-compatible token endpoint over plain HTTP. Clients use
// real vault URLs with TLS and challenge-resource verification on; only routing
// and trust differ from production (TransportOptions). It injects faults,
// enforces Key Vault's throttling limit, records requests, and can keep its
// state in a directory.
//
// Data plane (HTTPS, Host selects the vault, api-version required):
//
//	PUT    /secrets/{name}             setSecret
//	GET    /secrets/{name}[/]          getSecret (latest)
//	GET    /secrets/{name}/{version}   getSecret
//	PATCH  /secrets/{name}/{version}   updateSecret
//	DELETE /secrets/{name}             deleteSecret
//	GET    /secrets/{name}/versions    listVersions (25 per page, maxresults, $skiptoken)
//	GET    /secrets                    listSecrets (25 per page; each item the current version's attributes, id without version)
//
// Identity endpoint (HTTP): GET /metadata/identity/oauth2/token with header
// Metadata: true, api-version, resource and optionally one of client_id,
// object_id (ObjectID) or msi_res_id (ResourceID); an unknown one is a 400
// "Identity not found", as IMDS answers.
//
// Admin API (HTTPS, any host, JSON; mirrored by Emulator methods and AdminClient):
//
//	GET    /_emulator/health | /_emulator/ca.pem
//	GET    /_emulator/vaults               POST /_emulator/vaults (VaultSpec)
//	PUT    /_emulator/vaults/{vault}/access (AccessRequest)
//	GET    /_emulator/identities           POST /_emulator/identities (IdentityRequest)
//	PUT    /_emulator/vaults/{vault}/secrets/{name} (SecretSpec)
//	POST   /_emulator/vaults/{vault}/fill (FillSpec: many plain secrets, one state write)
//	GET    /_emulator/vaults/{vault}/secrets/{name}/[{version}]
//	PATCH  /_emulator/vaults/{vault}/secrets/{name}/[{version}] (EnabledRequest)
//	DELETE /_emulator/vaults/{vault}/secrets/{name}[/{version}] (one version: the vault stops listing it)
//	POST   /_emulator/vaults/{vault}/certificates/{name} (CertificateSpec)
//	POST   /_emulator/vaults/{vault}/certificates/{name}/rotate
//	POST   /_emulator/vaults/{vault}/certificates/{name}/import (ImportSpec)
//	GET    /_emulator/faults  POST /_emulator/faults (Fault)  DELETE /_emulator/faults[/{id}]
//	GET    /_emulator/requests  DELETE /_emulator/requests  GET /_emulator/counts
//	PUT    /_emulator/throttle (ThrottleRequest)
//	PUT    /_emulator/date-skew (DateSkewRequest)
//
// Logs never contain tokens, Authorization headers, secret values or keys.
package emulator
