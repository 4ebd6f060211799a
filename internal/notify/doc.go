// Package notify raises the renewal notification of Windows: event 1001 in
// the Application log, from the source "akvvm", when a certificate version
// is installed for the first time, replaces a version whose Subject
// Alternative Names it shares, or is made current again because the newer
// version was withdrawn in the vault (Kind Rollback). The event carries
// what a rebind (IIS) needs: the old and new thumbprints, the store name
// and location, and the Key Vault certificate and version.
//
// The decision, the store reads it needs (Prepare) and the message are
// portable code; only EventLog, which writes the event, and the crypt32
// reader are Windows-only.
package notify
