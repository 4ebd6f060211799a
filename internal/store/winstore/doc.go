// Package winstore installs certificates into the Windows certificate store
// (build tag windows) through crypt32 and ncrypt, as store.Store.
//
// What Install does with one version of one certificate:
//   - imports the leaf and its private key from a PFX built in memory
//     (empty password) into Target.StoreName at Target.Location
//     (LocalMachine or CurrentUser), each version in its own key container;
//   - adds every intermediate to the CA store of the same location, never the
//     root; intermediates are shared with other certificates and never removed;
//   - names the leaf "<vault>/<name>/<version>" (friendly name) and marks it
//     with a record in its description property: "akvvm-managed/1 {json}";
//     List, MakeCurrent, Delete, Remove and the renewal link only ever touch
//     certificates with that marker, so certificates akvvm did not install
//     are never changed;
//   - applies the private-key permissions (Administrators and SYSTEM full
//     control, each Target.Accounts entry read) built by KeySecurity;
//   - links the previous version to the new one (CERT_RENEWAL_PROP_ID) when
//     Target.LinkOnRenewal is set;
//   - flushes every store it changed (CertControlStore COMMIT) before closing.
//
// The current version is the one installed or made current (MakeCurrent)
// last: the marker records InstalledAt and, once made current again,
// CurrentAt. MakeCurrent also follows the vault backwards: the version that
// was current gets a renewal link to the one made current, whose own link
// is cleared. Delete removes versions other than the current one.
//
// The marker lives in the description property because it is a documented,
// persisted property that Windows and Wine both keep; the friendly name
// stays readable in certlm.msc.
//
// Under Wine some Windows behaviour is missing (see docs/windows.md); the
// store detects Wine and skips those steps with a logged message naming the
// gap instead of failing.
package winstore
