package handler

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const linuxEnv = `[{"name":"Microsoft.Azure.KeyVault.KeyVaultForLinux","version":1.0,"handlerEnvironment":{
 "logFolder":"/var/log/azure/Microsoft.Azure.KeyVault.KeyVaultForLinux",
 "configFolder":"/var/lib/waagent/Microsoft.Azure.KeyVault.KeyVaultForLinux-3.0.0/config",
 "statusFolder":"/var/lib/waagent/Microsoft.Azure.KeyVault.KeyVaultForLinux-3.0.0/status",
 "heartbeatFile":"/var/lib/waagent/Microsoft.Azure.KeyVault.KeyVaultForLinux-3.0.0/heartbeat.log",
 "eventsFolder":"/var/log/azure/Microsoft.Azure.KeyVault.KeyVaultForLinux/events"}}]`

const windowsEnv = "\ufeff" + `[{"name":"Microsoft.Azure.KeyVault.KeyVaultForWindows","version":"1","handlerEnvironment":{
 "logFolder":"C:\\WindowsAzure\\Logs\\Plugins\\Microsoft.Azure.KeyVault.KeyVaultForWindows\\4.0.1",
 "configFolder":"C:\\Packages\\Plugins\\Microsoft.Azure.KeyVault.KeyVaultForWindows\\4.0.1\\RuntimeSettings",
 "statusFolder":"C:\\Packages\\Plugins\\Microsoft.Azure.KeyVault.KeyVaultForWindows\\4.0.1\\status",
 "heartbeatFile":"C:\\Packages\\Plugins\\Microsoft.Azure.KeyVault.KeyVaultForWindows\\4.0.1\\status\\HeartBeat.Json",
 "deploymentid":"","rolename":"","instance":"","hostResolverAddress":""}}]`

func TestParseEnvironment(t *testing.T) {
	for _, tc := range []struct {
		name, data, version, heartbeat string
	}{
		{"linux, version as number", linuxEnv, "1.0", "/var/lib/waagent/Microsoft.Azure.KeyVault.KeyVaultForLinux-3.0.0/heartbeat.log"},
		{"windows, version as string, BOM, extra fields", windowsEnv, "1", `C:\Packages\Plugins\Microsoft.Azure.KeyVault.KeyVaultForWindows\4.0.1\status\HeartBeat.Json`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := ParseEnvironment([]byte(tc.data), "/h")
			if err != nil {
				t.Fatal(err)
			}
			if e.Version != tc.version || e.HeartbeatFile != tc.heartbeat || e.Dir != "/h" || !strings.HasPrefix(e.Name, "Microsoft.Azure.KeyVault.") {
				t.Errorf("got %+v", e)
			}
		})
	}
}

func TestParseEnvironmentRejects(t *testing.T) {
	one := strings.Trim(linuxEnv, "[]")
	for name, data := range map[string]string{
		"not JSON":        "{",
		"object":          one,
		"empty array":     "[]",
		"two elements":    "[" + one + "," + one + "]",
		"no configFolder": `[{"name":"x","version":1,"handlerEnvironment":{"logFolder":"/l","statusFolder":"/s"}}]`,
	} {
		if _, err := ParseEnvironment([]byte(data), "/h"); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestFindEnvironment(t *testing.T) {
	dir := tempDir(t)
	if err := os.MkdirAll(filepath.Join(dir, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := FindEnvironment(filepath.Join(dir, "bin", "akvvm")); err == nil || !strings.Contains(err.Error(), EnvironmentFile) {
		t.Fatalf("without the file: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, EnvironmentFile), []byte(linuxEnv), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, exe := range []string{filepath.Join(dir, "bin", "akvvm"), filepath.Join(dir, "akvvm")} {
		e, err := FindEnvironment(exe)
		if err != nil {
			t.Fatalf("%s: %v", exe, err)
		}
		if e.Dir != dir {
			t.Errorf("%s: Dir = %s, want %s", exe, e.Dir, dir)
		}
	}
}

func FuzzParseEnvironment(f *testing.F) {
	f.Add([]byte(linuxEnv))
	f.Add([]byte(windowsEnv))
	f.Add([]byte(`[{"version":null}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := ParseEnvironment(data, "/h")
		if err == nil && (e.ConfigFolder == "" || e.StatusFolder == "" || e.LogFolder == "") {
			t.Errorf("accepted an environment without folders: %+v", e)
		}
	})
}
