package fleet

import (
	"context"
	"sync"
	"time"

	"github.com/akvvm/akvvm/internal/store"
	"github.com/akvvm/akvvm/internal/store/filestore"
)

// goal is one version of one certificate that every agent should install.
type goal struct {
	cert    int
	version string
	reached []time.Time // per agent; zero until it has the version current
	left    int
	done    chan struct{} // closed when every agent has it
}

// tracker learns from every agent's store which version of each
// certificate is current, and when each goal is reached.
type tracker struct {
	mu      sync.Mutex
	current [][]string // [agent][cert]
	goals   []*goal
}

func newTracker(agents, certs int) *tracker {
	t := &tracker{current: make([][]string, agents)}
	for i := range t.current {
		t.current[i] = make([]string, certs)
	}
	return t
}

// want adds the goal that every agent has version of cert current; agents
// that have it already count at once.
func (t *tracker) want(cert int, version string) *goal {
	t.mu.Lock()
	defer t.mu.Unlock()
	g := &goal{cert: cert, version: version, reached: make([]time.Time, len(t.current)), left: len(t.current), done: make(chan struct{})}
	now := time.Now()
	for a := range t.current {
		if t.current[a][cert] == version {
			g.reach(a, now)
		}
	}
	t.goals = append(t.goals, g)
	return g
}

func (g *goal) reach(agent int, now time.Time) {
	if !g.reached[agent].IsZero() {
		return
	}
	g.reached[agent] = now
	if g.left--; g.left == 0 {
		close(g.done)
	}
}

// made notes that version of cert became current at agent.
func (t *tracker) made(agent, cert int, version string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.current[agent][cert] = version
	now := time.Now()
	for _, g := range t.goals {
		if g.cert == cert && g.version == version {
			g.reach(agent, now)
		}
	}
}

// reachedTimes returns, per agent, when it reached every goal of gs (zero
// when it has not reached one of them).
func (t *tracker) reachedTimes(gs []*goal) []time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]time.Time, len(t.current))
	for a := range out {
		for _, g := range gs {
			r := g.reached[a]
			if r.IsZero() {
				out[a] = time.Time{}
				break
			}
			if r.After(out[a]) {
				out[a] = r
			}
		}
	}
	return out
}

// trackedStore is an agent's real filestore, telling the tracker which
// version each successful Install or MakeCurrent made current. The
// store's other methods (Recover, Owned ...) are the filestore's own.
type trackedStore struct {
	*filestore.Store
	agent int
	certs map[string]int // secret name → certificate index
	t     *tracker
}

func (s *trackedStore) Install(ctx context.Context, target store.Target, c store.Certificate) (store.Installed, error) {
	in, err := s.Store.Install(ctx, target, c)
	if err == nil {
		s.t.made(s.agent, s.certs[c.Name], in.Version)
	}
	return in, err
}

func (s *trackedStore) MakeCurrent(ctx context.Context, target store.Target, ref store.Ref, version string) (store.Installed, error) {
	in, err := s.Store.MakeCurrent(ctx, target, ref, version)
	if err == nil {
		s.t.made(s.agent, s.certs[ref.Name], in.Version)
	}
	return in, err
}
