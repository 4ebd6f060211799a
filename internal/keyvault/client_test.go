package keyvault

import "testing"

// A request that never gets an answer must end, or one silent vault would
// stop the agent's whole pass; azcore's own default has no per-try limit.
func TestClientsBoundEachTryByDefault(t *testing.T) {
	if got := NewClients(nil, Options{}).retry.TryTimeout; got != defaultTryTimeout {
		t.Errorf("default TryTimeout = %v, want %v", got, defaultTryTimeout)
	}
}
