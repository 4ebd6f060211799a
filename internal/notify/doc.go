// Package notify raises the renewal notification of Windows: event 1001 in
// the Application log, from the source "akvvm", when a certificate version
// is installed for the first time or replaces a version whose Subject
// Alternative Names it shares. The event carries what a rebind (IIS) needs:
// the old and new thumbprints, the store name and location, and the Key
// Vault certificate and version.
//
// The decision and the message are portable code; only EventLog, which
// writes the event, is Windows-only.
package notify
