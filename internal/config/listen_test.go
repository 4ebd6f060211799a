package config

import (
	"strings"
	"testing"
)

func TestCheckListenAddress(t *testing.T) {
	for _, tc := range []struct{ addr, wantErr string }{
		{"127.0.0.1:9464", ""},
		{"[::1]:9464", ""},
		{"localhost:9464", ""},
		{"0.0.0.0:9464", ""},
		{":9464", "write 127.0.0.1:9464 for this machine only, or 0.0.0.0:9464 if every interface is really meant"},
		{"9464", "not HOST:PORT"},
		{"metrics.example.com:9464", "IP address or localhost"},
		{"127.0.0.1:0", "from 1 to 65535"},
		{"127.0.0.1:http", "from 1 to 65535"},
	} {
		err := CheckListenAddress(tc.addr)
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%q: %v", tc.addr, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%q: error %v, want it to say %q", tc.addr, err, tc.wantErr)
		}
	}
	if IsLoopback("0.0.0.0:9464") || !IsLoopback("127.0.0.1:9464") || !IsLoopback("[::1]:1") || !IsLoopback("localhost:1") {
		t.Error("IsLoopback is wrong")
	}
}
