package simulate

import (
	"slices"
	"sync"

	"github.com/smd-media/smd/internal/detect"
)

// Roles of a scorer in the report's per-scorer table.
const (
	// RoleActive: the scorer whose decisions revoke.
	RoleActive = "active"
	// RoleDryRun: the active scorer with detector.dry_run on: it revokes
	// nothing.
	RoleDryRun = "dry-run"
	// RoleShadow: computed beside the active one, reported only.
	RoleShadow = "shadow"
)

// ScorerRole names one scorer of a detector and its role (Role*).
type ScorerRole struct {
	Name string `json:"scorer"`
	Role string `json:"role"`
}

// DecisionLog keeps every decision of every scorer of a detector, for the
// report's per-scorer table: hand [DecisionLog.Record] to
// node.WithDecisionHook (the [Stack] does). Safe for concurrent use.
type DecisionLog struct {
	scorers []ScorerRole

	mu   sync.Mutex
	decs []detect.Decision
}

// NewDecisionLog returns an empty log for a detector configured with cfg:
// its scorer first, then its shadow scorers.
func NewDecisionLog(cfg detect.Config) *DecisionLog {
	role := RoleActive
	if cfg.DryRun {
		role = RoleDryRun
	}
	l := &DecisionLog{scorers: []ScorerRole{{Name: cfg.Scorer, Role: role}}}
	for _, s := range cfg.Shadow {
		l.scorers = append(l.scorers, ScorerRole{Name: s, Role: RoleShadow})
	}
	return l
}

// Record adds a decision. It keeps the decision without its breakdown
// (Features), which the report does not use.
func (l *DecisionLog) Record(d detect.Decision) {
	d.Features = nil
	l.mu.Lock()
	l.decs = append(l.decs, d)
	l.mu.Unlock()
}

// Decisions returns the decisions recorded so far, in the order they came.
func (l *DecisionLog) Decisions() []detect.Decision {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.decs)
}

// Scorers returns the detector's scorers, the active one first.
func (l *DecisionLog) Scorers() []ScorerRole { return slices.Clone(l.scorers) }
