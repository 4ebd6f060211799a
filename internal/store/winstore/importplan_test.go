package winstore

import "testing"

func TestPlanImport(t *testing.T) {
	tests := []struct {
		name string
		req  importRequest
		want importPlan
	}{
		{"4.0 machine: CNG always, KeyGuard tried, rebuilt PFX",
			importRequest{AlwaysCNG: true, Isolation: true, Machine: true, HasOriginal: true},
			importPlan{Flags: cryptMachineKeyset | pkcs12AlwaysCNGKSP, TryIsolation: true}},
		{"4.0 user: never exportable",
			importRequest{AlwaysCNG: true, Exportable: true, HasOriginal: true},
			importPlan{Flags: cryptUserKeyset | pkcs12AlwaysCNGKSP}},
		{"3.0 exportable, original PFX: provider the PFX names, else CNG",
			importRequest{Exportable: true, Machine: true, HasOriginal: true},
			importPlan{Flags: cryptMachineKeyset | cryptExportable | pkcs12PreferCNGKSP, Original: true}},
		{"3.0 not exportable, user keyset",
			importRequest{HasOriginal: true},
			importPlan{Flags: cryptUserKeyset | pkcs12PreferCNGKSP, Original: true}},
		{"3.0 PEM secret: rebuilt PFX, which lands in CNG",
			importRequest{Exportable: true, Machine: true},
			importPlan{Flags: cryptMachineKeyset | cryptExportable | pkcs12PreferCNGKSP}},
		{"1.0 (config never sets exportable): import default",
			importRequest{Machine: true, HasOriginal: true},
			importPlan{Flags: cryptMachineKeyset | pkcs12PreferCNGKSP, Original: true}},
		{"3.0 KeyGuard asked without the 4.0 rule: not tried",
			importRequest{Isolation: true, HasOriginal: true},
			importPlan{Flags: cryptUserKeyset | pkcs12PreferCNGKSP, Original: true}},
		{"Wine 3.0: no CNG flag, original PFX",
			importRequest{Exportable: true, Machine: true, Wine: true, HasOriginal: true},
			importPlan{Flags: cryptMachineKeyset | cryptExportable, Original: true}},
		{"Wine 4.0: no CNG or KeyGuard flag, rebuilt PFX",
			importRequest{AlwaysCNG: true, Isolation: true, Wine: true, HasOriginal: true},
			importPlan{Flags: cryptUserKeyset}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := planImport(tt.req); got != tt.want {
				t.Errorf("planImport(%+v) = %+v (flags %#x), want %+v (flags %#x)", tt.req, got, got.Flags, tt.want, tt.want.Flags)
			}
		})
	}
}

func TestImportDestination(t *testing.T) {
	const capi = "Microsoft Enhanced RSA and AES Cryptographic Provider"
	v30 := planImport(importRequest{HasOriginal: true})
	v40 := planImport(importRequest{AlwaysCNG: true, HasOriginal: true})
	pem30 := planImport(importRequest{})
	tests := []struct {
		name          string
		plan          importPlan
		wine          bool
		named         string
		api, provider string
	}{
		{"3.0, PFX names a CAPI CSP", v30, false, capi, "CAPI", capi},
		{"3.0, PFX names a CNG KSP", v30, false, "Microsoft Platform Crypto Provider", "CNG", "Microsoft Platform Crypto Provider"},
		{"3.0, PFX names none", v30, false, "", "CNG", softwareKSP},
		{"3.0, rebuilt PFX ignores the name", pem30, false, capi, "CNG", softwareKSP},
		{"4.0, CNG whatever the PFX names", v40, false, capi, "CNG", softwareKSP},
		{"Wine", v30, true, capi, "CAPI", "Wine's default RSA provider (Wine has no CNG)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api, provider := tt.plan.destination(tt.wine, tt.named)
			if api != tt.api || provider != tt.provider {
				t.Errorf("destination = %s %q, want %s %q", api, provider, tt.api, tt.provider)
			}
		})
	}
}
