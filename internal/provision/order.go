package provision

import "sync"

// order makes the quota decisions of one delivery's requests of a source
// happen in the delivery's order, so that the first items of a batch are
// the ones a quota leaves room for. The store takes one source's quota
// decisions one at a time anyway; only the order is added. A request waits
// for the earlier requests of its source to be decided (recorded, refused,
// or found to need no quota), never for later ones, so the earliest
// undecided request never waits and the delivery always progresses.
type order struct {
	mu   sync.Mutex
	cond *sync.Cond
	// src and seq place each input among its source's inputs.
	src []string
	seq []int
	// done marks, per source, the inputs decided; low is the first that
	// is not.
	done map[string][]bool
	low  map[string]int
}

func newOrder(in []Input) *order {
	o := &order{src: make([]string, len(in)), seq: make([]int, len(in)), done: map[string][]bool{}, low: map[string]int{}}
	o.cond = sync.NewCond(&o.mu)
	for i, x := range in {
		s := x.Identity.Source
		o.src[i], o.seq[i] = s, len(o.done[s])
		o.done[s] = append(o.done[s], false)
	}
	return o
}

// turn is one input's place in an order; a nil turn never waits.
type turn struct {
	o *order
	i int
}

func (o *order) turn(i int) *turn { return &turn{o: o, i: i} }

// wait blocks until every earlier input of the same source is decided.
func (t *turn) wait() {
	if t == nil {
		return
	}
	o := t.o
	o.mu.Lock()
	defer o.mu.Unlock()
	for o.low[o.src[t.i]] < o.seq[t.i] {
		o.cond.Wait()
	}
}

// decided marks the input decided; calling it again does nothing.
func (t *turn) decided() {
	if t == nil {
		return
	}
	o := t.o
	o.mu.Lock()
	defer o.mu.Unlock()
	s := o.src[t.i]
	if o.done[s][o.seq[t.i]] {
		return
	}
	o.done[s][o.seq[t.i]] = true
	for o.low[s] < len(o.done[s]) && o.done[s][o.low[s]] {
		o.low[s]++
	}
	o.cond.Broadcast()
}
