// Package handler implements the Azure VM extension handler contract as the
// guest agent drives it: HandlerEnvironment.json discovery, the
// <seq>.settings file of the current sequence number, the install, enable,
// disable, uninstall and update operations, the <seq>.status file and the
// heartbeat file. The long-running part is the service (akvvm handler
// service): it runs the agent and keeps the status and heartbeat current.
//
// Layout of a handler directory (the directory of HandlerEnvironment.json):
//
//	HandlerManifest.json, HandlerEnvironment.json   written by the guest agent
//	bin/akvvm                                       the binary from the package
//	config/<seq>.settings, status/<seq>.status      the guest agent's folders
//	mrseq                                           last processed sequence number
//	state/service.json                              settings handed to the service
//	state/status.json                               the agent's state (akvvm status)
//	state/stopped                                   present while the service is stopped
package handler
