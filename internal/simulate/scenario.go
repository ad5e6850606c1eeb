package simulate

import (
	"fmt"
	"strings"
)

// Scenario names.
const (
	// ScenarioDefault is DefaultConfig's mix: every kind, a few of each.
	ScenarioDefault = "default"
	// ScenarioClassic is the mix of issue 5 only: players, address
	// changes, homes of two, shared tokens, restreamers, an impersonator.
	ScenarioClassic = "classic"
	// ScenarioHiding is the abuse that hides (wide sharing in one and
	// five countries, restreamers at real time, downloaders at 4x and
	// 10x), three of each, beside 20 players.
	ScenarioHiding = "hiding"
	// ScenarioHardLegit is only legitimate viewers, five of each hard
	// kind beside 20 players: a long run of it must block no one.
	ScenarioHardLegit = "hard-legit"
)

// Scenarios lists the scenario names.
var Scenarios = []string{ScenarioDefault, ScenarioClassic, ScenarioHiding, ScenarioHardLegit}

// Counts are the sessions of each kind of a run, by the flag name that
// sets each (without "--").
type Counts map[string]int

// CountNames are the flags of Counts, in order.
var CountNames = []string{"legit", "shared", "restreamers", "impersonators", "wide", "wide-intl", "restreamers-rt",
	"downloaders-4x", "downloaders-10x", "households", "cgnat", "mobiles", "seekers", "abr", "pausers", "tvs", "long-vod"}

// counts returns pointers to c's counts by flag name.
func (c *Config) counts() map[string]*int {
	return map[string]*int{
		"legit": &c.Legit, "shared": &c.Shared, "restreamers": &c.Restreamers, "impersonators": &c.Impersonators,
		"wide": &c.Wide, "wide-intl": &c.WideIntl, "restreamers-rt": &c.Relays, "downloaders-4x": &c.Downloaders4x,
		"downloaders-10x": &c.Downloaders10x, "households": &c.Households, "cgnat": &c.CGNAT, "mobiles": &c.Mobiles,
		"seekers": &c.Seekers, "abr": &c.ABR, "pausers": &c.Pausers, "tvs": &c.TVs, "long-vod": &c.LongVOD,
	}
}

// Count returns a pointer to the count set by the flag name, for a
// command line to bind; nil for an unknown name.
func (c *Config) Count(name string) *int { return c.counts()[name] }

// ApplyScenario sets the counts of the named scenario, but those in keep
// (flags given on their own, which win). Unknown names are an error.
func (c *Config) ApplyScenario(name string, keep func(flag string) bool) error {
	var want Counts
	switch name {
	case ScenarioDefault:
		d := DefaultConfig()
		want = Counts{}
		for k, p := range d.counts() {
			want[k] = *p
		}
	case ScenarioClassic:
		want = Counts{"legit": DefaultLegit, "shared": DefaultShared, "restreamers": DefaultRestreamers, "impersonators": DefaultImpersonators}
	case ScenarioHiding:
		want = Counts{"legit": 20, "shared": 2, "restreamers": 1, "impersonators": 1, "wide": 3, "wide-intl": 3,
			"restreamers-rt": 3, "downloaders-4x": 3, "downloaders-10x": 3}
	case ScenarioHardLegit:
		want = Counts{"legit": 20, "households": 5, "cgnat": 5, "mobiles": 5, "seekers": 5, "abr": 5, "pausers": 5, "tvs": 5, "long-vod": 5}
	default:
		return fmt.Errorf("scenario: %q is not one of %s", name, strings.Join(Scenarios, ", "))
	}
	for k, p := range c.counts() {
		if keep == nil || !keep(k) {
			*p = want[k]
		}
	}
	return nil
}
