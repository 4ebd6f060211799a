package identity

// defaultArcKeyDir is where the Azure Arc agent writes challenge key files.
func defaultArcKeyDir() string { return "/var/opt/azcmagent/tokens" }
