package site

import (
	"context"
	"net/http"
	"sync"
	"time"
)

// Simulator runs the piracy simulator against the stack the site fronts,
// for the dashboard's "simulate piracy" button: legitimate viewers and
// pirates play for a while, and the detector catches the pirates. It
// returns the simulator's report in words.
type Simulator func(ctx context.Context) (report string, err error)

// simulationFor bounds one simulation run.
const simulationFor = 5 * time.Minute

// simStatus is the answer of GET /dashboard/api/simulate.
type simStatus struct {
	Running  bool      `json:"running"`
	Started  time.Time `json:"started,omitzero"`
	Finished time.Time `json:"finished,omitzero"`
	Report   string    `json:"report,omitempty"`
	Error    string    `json:"error,omitempty"`
}

// simState is the one simulation the dashboard may run at a time.
type simState struct {
	mu     sync.Mutex
	st     simStatus
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func (s *simState) status() simStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st
}

func (s *simState) stop() {
	s.mu.Lock()
	if s.cancel != nil {
		s.cancel()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *Site) startSimulation(w http.ResponseWriter) {
	if s.cfg.Simulate == nil {
		writeError(w, http.StatusServiceUnavailable, "simulate_off", "the simulator is not available here (smd demo runs it)")
		return
	}
	st := s.simState
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.st.Running {
		writeError(w, http.StatusConflict, "simulation_running", "a simulation is running; wait for it to end")
		return
	}
	select {
	case <-s.done:
		writeError(w, http.StatusServiceUnavailable, "closing", "the site is stopping")
		return
	default:
	}
	ctx, cancel := context.WithTimeout(context.Background(), simulationFor)
	st.cancel = cancel
	st.st = simStatus{Running: true, Started: time.Now().UTC()}
	st.wg.Add(1)
	go func() {
		defer st.wg.Done()
		defer cancel()
		report, err := s.cfg.Simulate(ctx)
		st.mu.Lock()
		defer st.mu.Unlock()
		st.st.Running, st.st.Finished, st.st.Report = false, time.Now().UTC(), report
		if err != nil {
			st.st.Error = err.Error()
		}
	}()
	writeJSON(w, http.StatusAccepted, st.st)
}
