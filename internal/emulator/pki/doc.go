// Package pki is the certificate authority of the built-in Key Vault emulator.
//
// An Authority is a root CA and an issuing intermediate, kept in a state
// directory (or only in memory). It signs the TLS certificates the emulator
// serves for real Key Vault host names, and issues the certificates the
// emulator stores as certificate-backed secrets. Encode and Decode convert
// between issued certificates and Key Vault secret values in PKCS#12 and PEM.
//
// Errors never contain key material.
package pki
