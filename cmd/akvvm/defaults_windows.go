package main

// defaultStateDir holds the agent's status file when run as a service.
const defaultStateDir = `C:\ProgramData\akvvm`
