package winstore

import "strings"

// PFXImportCertStore flags (wincrypt.h), repeated here so that the import
// decision builds and is tested on every platform.
const (
	cryptExportable           = 0x00000001 // CRYPT_EXPORTABLE
	cryptMachineKeyset        = 0x00000020 // CRYPT_MACHINE_KEYSET
	cryptUserKeyset           = 0x00001000 // CRYPT_USER_KEYSET
	pkcs12PreferCNGKSP        = 0x00000100 // PKCS12_PREFER_CNG_KSP: the CSP the PFX names, else CNG
	pkcs12AlwaysCNGKSP        = 0x00000200 // PKCS12_ALWAYS_CNG_KSP: CNG whatever the PFX names
	pkcs12VirtualIsolationKey = 0x00010000 // PKCS12_VIRTUAL_ISOLATION_KEY: KeyGuard
)

// softwareKSP is the CNG provider Windows imports keys into by default.
const softwareKSP = "Microsoft Software Key Storage Provider"

// importRequest is what decides how a certificate's PFX is imported.
type importRequest struct {
	// AlwaysCNG is the 4.0 rule; false is the 1.0/3.0 import default.
	AlwaysCNG bool
	// Exportable is keyExportable (3.0 only; never honoured with AlwaysCNG).
	Exportable bool
	// Isolation asks for KeyGuard (4.0).
	Isolation bool
	// Machine stores the key in the machine keyset (LocalMachine), else the user's.
	Machine bool
	// Wine: Wine has CAPI only and fails imports that ask for CNG.
	Wine bool
	// HasOriginal: the secret's own PFX is at hand (it was PKCS #12, not PEM).
	HasOriginal bool
}

// importPlan says how to call PFXImportCertStore.
type importPlan struct {
	// Flags are the import flags, without KeyGuard.
	Flags uint32
	// TryIsolation imports with PKCS12_VIRTUAL_ISOLATION_KEY first and,
	// where the machine refuses it, again with Flags alone.
	TryIsolation bool
	// Original imports the secret's PFX as it is, so that a provider its key
	// bag names is kept; otherwise a PFX rebuilt from the decoded bundle,
	// which names no provider, is imported.
	Original bool
}

// planImport chooses the import flags and which PFX to import.
//
// 4.0 (AlwaysCNG): PKCS12_ALWAYS_CNG_KSP, never exportable, KeyGuard when
// asked, the rebuilt PFX. 1.0 and 3.0: PKCS12_PREFER_CNG_KSP, which is
// Windows' rule "the CSP the PFX names, otherwise CNG", with the original
// PFX when there is one; exportable when asked (config allows it in 3.0
// only). Under Wine no CNG or KeyGuard flag is set: Wine fails such imports,
// and stores every key through CAPI.
func planImport(r importRequest) importPlan {
	p := importPlan{Flags: cryptUserKeyset}
	if r.Machine {
		p.Flags = cryptMachineKeyset
	}
	if r.Exportable && !r.AlwaysCNG {
		p.Flags |= cryptExportable
	}
	p.Original = r.HasOriginal && !r.AlwaysCNG
	if r.Wine {
		return p
	}
	if r.AlwaysCNG {
		p.Flags |= pkcs12AlwaysCNGKSP
		p.TryIsolation = r.Isolation
	} else {
		p.Flags |= pkcs12PreferCNGKSP
	}
	return p
}

// destination says which API and provider the key goes to, given the
// provider the imported PFX's key bag names ("" for none), for the log.
func (p importPlan) destination(wine bool, named string) (api, provider string) {
	if !p.Original {
		named = "" // the rebuilt PFX names no provider
	}
	switch {
	case wine:
		return "CAPI", "Wine's default RSA provider (Wine has no CNG)"
	case p.Flags&pkcs12AlwaysCNGKSP != 0, named == "":
		return "CNG", softwareKSP
	case isCNGProvider(named):
		return "CNG", named
	default:
		return "CAPI", named
	}
}

// isCNGProvider reports whether a provider name is a CNG key storage
// provider rather than a CAPI cryptographic service provider.
func isCNGProvider(name string) bool {
	return strings.HasSuffix(name, "Key Storage Provider") || name == "Microsoft Platform Crypto Provider"
}
