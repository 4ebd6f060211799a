//go:build !windows

package main

// defaultStateDir holds the agent's status file when run as a service.
const defaultStateDir = "/var/lib/akvvm"
