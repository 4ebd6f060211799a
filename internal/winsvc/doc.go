// Package winsvc installs, controls and runs akvvm as a Windows service
// (golang.org/x/sys/windows/svc and svc/mgr): the service akvvm_service runs
// "akvvm run --settings FILE --as-service" (akvvm service install) or
// "akvvm handler service --as-service" (the VM extension handler).
//
// Under Wine svc.IsWindowsService reports false inside a service, so the
// service command line carries --as-service and akvvm trusts it.
package winsvc

// Name is the service akvvm installs.
const Name = "akvvm_service"

// DisplayName is what the Services console shows.
const DisplayName = "akvvm Key Vault certificates"

// Description says what the service does, in the Services console.
const Description = "Keeps the certificates observed in Azure Key Vault installed in the Windows certificate store (akvvm)."

// AsServiceFlag is the hidden flag of the service command line.
const AsServiceFlag = "as-service"
