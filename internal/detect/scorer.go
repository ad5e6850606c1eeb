package detect

// scorer turns a session's features into a score.
type scorer interface {
	name() string
	threshold() float64
	// score returns the session's score and whether it is over the
	// threshold (never for a session the scorer does not judge).
	score(f *features, p *population) (float64, bool)
	// explain returns the features and terms behind the score.
	explain(f *features, p *population) map[string]float64
	// words explains the decision in an operator's words: a sentence per
	// term over the threshold, with its numbers, and the score.
	words(f *features, p *population) []string
	// describe explains every term, over the threshold or not.
	describe(f *features, p *population) []string
}

func newScorer(name string, cfg *Config) scorer {
	if name == ScorerConcurrency {
		return &concurrencyScorer{cfg: &cfg.Concurrency}
	}
	return &smdeScorer{cfg: &cfg.SMDE}
}

// population holds what a scorer needs from all sessions of an
// evaluation.
type population struct {
	// sessions is the number of sessions with a request in the window.
	sessions int
	// medianRate is the median of requests/time_range over the sessions
	// with a time range (SMDE); 0 when there is none.
	medianRate float64
	// steady is the number of sessions that have played referenceSpan,
	// and steadyRate the median of their hits per second (concurrency).
	steady     int
	steadyRate float64
}

// population computes the population of the features in parts.
func (d *Detector) population(parts [][]features) population {
	rates := d.rates[:0]
	p := population{}
	for _, fs := range parts {
		p.sessions += len(fs)
		for i := range fs {
			if fs[i].timeRange > 0 {
				rates = append(rates, float64(fs[i].requests)/float64(fs[i].timeRange))
			}
		}
	}
	p.medianRate = median(rates)
	rates = rates[:0]
	for _, fs := range parts {
		for i := range fs {
			if r, ok := fs[i].reference(d); ok {
				rates = append(rates, r)
			}
		}
	}
	p.steady, p.steadyRate = len(rates), median(rates)
	d.rates = rates
	return p
}

// session returns the features of session id at the last evaluation.
func (d *Detector) session(id string) (*features, bool) {
	for _, fs := range d.parts {
		for i := range fs {
			if fs[i].id == id {
				return &fs[i], true
			}
		}
	}
	return nil, false
}

// median returns the lower median of v (the value of rank ceil(n/2), as a
// nearest-rank percentile gives), reordering v; 0 for none. Quickselect:
// linear on average.
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	k := (len(v) - 1) / 2
	lo, hi := 0, len(v)-1
	for lo < hi {
		// Median of three as the pivot, then Hoare's partition.
		mid := lo + (hi-lo)/2
		if v[mid] < v[lo] {
			v[mid], v[lo] = v[lo], v[mid]
		}
		if v[hi] < v[lo] {
			v[hi], v[lo] = v[lo], v[hi]
		}
		if v[hi] < v[mid] {
			v[hi], v[mid] = v[mid], v[hi]
		}
		pivot := v[mid]
		i, j := lo, hi
		for i <= j {
			for v[i] < pivot {
				i++
			}
			for v[j] > pivot {
				j--
			}
			if i <= j {
				v[i], v[j] = v[j], v[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return v[k]
		}
	}
	return v[k]
}
