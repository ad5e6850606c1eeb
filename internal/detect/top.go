package detect

import (
	"cmp"
	"container/heap"
	"slices"
	"time"
)

// MaxTop is how many sessions Top can return: the highest active scores
// of each evaluation are kept, whatever their score.
const MaxTop = 100

// Top returns the inspections of the n (at most MaxTop) sessions with the
// highest active scores at the last evaluation, highest first as they
// score at now: the dashboard's sessions table.
func (d *Detector) Top(n int, now time.Time) []Inspection {
	d.evalMu.Lock()
	ids := d.top
	d.evalMu.Unlock()
	n = min(n, len(ids))
	out := make([]Inspection, 0, n)
	for _, id := range ids {
		if len(out) == n {
			break
		}
		if in, ok := d.Inspect(id, now); ok {
			out = append(out, in)
		}
	}
	slices.SortStableFunc(out, func(a, b Inspection) int { return cmp.Compare(b.Scores[0].Score, a.Scores[0].Score) })
	return out
}

// topList keeps the MaxTop highest scores it is given (a min-heap).
type topList []scored

type scored struct {
	id    string
	score float64
}

func (t topList) Len() int           { return len(t) }
func (t topList) Less(i, j int) bool { return t[i].score < t[j].score }
func (t topList) Swap(i, j int)      { t[i], t[j] = t[j], t[i] }
func (t *topList) Push(x any)        { *t = append(*t, x.(scored)) }
func (t *topList) Pop() any {
	old := *t
	x := old[len(old)-1]
	*t = old[:len(old)-1]
	return x
}

func (t *topList) add(id string, score float64) {
	if len(*t) < MaxTop {
		heap.Push(t, scored{id, score})
		return
	}
	if score > (*t)[0].score {
		(*t)[0] = scored{id, score}
		heap.Fix(t, 0)
	}
}

// ids returns the ids, highest score first.
func (t topList) ids() []string {
	s := slices.Clone(t)
	slices.SortFunc(s, func(a, b scored) int { return cmp.Or(cmp.Compare(b.score, a.score), cmp.Compare(a.id, b.id)) })
	out := make([]string, len(s))
	for i, e := range s {
		out[i] = e.id
	}
	return out
}
