package agent

import "sync"

// maxProbes bounds the probes that run at once, one per vault.
const maxProbes = 64

// runChecks runs check for every certificate of due. The first due
// certificate of each vault goes first, as a probe: the probes of
// different vaults run side by side (up to maxProbes, whatever the
// concurrency, since each loads another vault), and the others of a vault
// are queued once its probe is done, for Concurrency workers. A vault that
// does not answer then costs one budget per pass, however many vaults fail
// together (an identity outage fails them all), and its other certificates
// fail at once with the probe's cause (see unreachable) instead of each
// holding a worker for a budget of its own. A healthy vault costs one
// round trip before its other certificates start.
func (a *Agent) runChecks(due []CertSpec, check func(CertSpec)) {
	if len(due) == 0 {
		return
	}
	followers := map[string][]CertSpec{} // by vault, behind its probe
	var probes []CertSpec
	for _, c := range due {
		k := vaultKey(c.VaultURL)
		if _, seen := followers[k]; seen {
			followers[k] = append(followers[k], c)
			continue
		}
		followers[k] = nil
		probes = append(probes, c)
	}
	queue := make(chan CertSpec, len(due)-len(probes)) // followers only: never blocks
	var mu sync.Mutex
	pending := len(due)
	finished := func(n int) {
		mu.Lock()
		defer mu.Unlock()
		if pending -= n; pending == 0 {
			close(queue)
		}
	}
	var wg sync.WaitGroup
	for range min(a.deps.Concurrency, len(due)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range queue {
				check(c)
				finished(1)
			}
		}()
	}
	slots := make(chan struct{}, maxProbes)
	for _, p := range probes {
		slots <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			check(p)
			<-slots
			mu.Lock()
			k := vaultKey(p.VaultURL)
			for _, f := range followers[k] {
				queue <- f
			}
			mu.Unlock()
			finished(1)
		}()
	}
	wg.Wait()
}
