package agent

import "sync"

// runChecks runs check for every certificate of due, at most Concurrency
// at a time. The first due certificate of each vault goes first, as a
// probe, and the others of that vault are queued once it is done: a vault
// that does not answer then holds one worker for one budget, and its other
// certificates fail at once with the probe's cause (see unreachable)
// instead of each holding a worker for a budget of its own. A healthy
// vault costs one round trip before its other certificates start.
func (a *Agent) runChecks(due []CertSpec, check func(CertSpec)) {
	if len(due) == 0 {
		return
	}
	followers := map[string][]CertSpec{} // by vault, behind its probe
	probe := map[string]bool{}           // by certificate key
	queue := make(chan CertSpec, len(due))
	for _, c := range due {
		k := vaultKey(c.VaultURL)
		if _, seen := followers[k]; seen {
			followers[k] = append(followers[k], c)
			continue
		}
		followers[k] = nil
		probe[c.Key()] = true
		queue <- c
	}
	var mu sync.Mutex
	pending := len(due)
	var wg sync.WaitGroup
	for range min(a.deps.Concurrency, len(due)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range queue {
				check(c)
				mu.Lock()
				if probe[c.Key()] {
					k := vaultKey(c.VaultURL)
					for _, f := range followers[k] {
						queue <- f // the queue holds every certificate: never blocks
					}
					delete(followers, k)
				}
				if pending--; pending == 0 {
					close(queue)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}
