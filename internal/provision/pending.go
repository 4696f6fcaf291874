package provision

import (
	"context"
	"sync"

	"github.com/vpngw/vpngw/internal/request"
	"github.com/vpngw/vpngw/internal/store"
)

// recordChunk is how many requests one transaction of a delivery's records
// writes at most.
const recordChunk = 100

// pending holds the records of a delivery's requests that count against no
// quota, so that HandleAll writes them a chunk per transaction (a batch of
// 1,000 items in 10 transactions, not 1,000) before any gateway is created.
// A chunk the store refuses is written again one request at a time, so
// that each request meets what a record of its own would.
type pending struct {
	mu      sync.Mutex
	entries []*pendingRecord
	written int // entries[:written] are in the store
}

// pendingRecord is one request to record, and what record does with the
// store's answer.
type pendingRecord struct {
	i     int // the request's place in HandleAll's inputs
	ctx   context.Context
	rec   store.Request
	after func(got store.Request, created bool, err error) (store.Request, request.Identity, Result, bool, error)

	got     store.Request
	created bool
	err     error
}

func (p *pending) add(e *pendingRecord) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.entries = append(p.entries, e)
}

// write records every entry added so far. A request decided against a
// quota calls it first, so that its count sees the earlier requests of
// its source.
func (p *pending) write(st Store) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.written < len(p.entries) {
		// A chunk is written as one actor: the entries of one caller.
		actor := store.ActorFrom(p.entries[p.written].ctx)
		n := 1
		for p.written+n < len(p.entries) && n < recordChunk && store.ActorFrom(p.entries[p.written+n].ctx) == actor {
			n++
		}
		chunk := p.entries[p.written : p.written+n]
		p.written += n
		rs := make([]store.Request, len(chunk))
		for j, e := range chunk {
			rs[j] = e.rec
		}
		got, err := st.InsertMany(chunk[0].ctx, rs)
		if err == nil && len(got) == len(chunk) {
			for j, e := range chunk {
				e.got, e.created = got[j].Request, got[j].Created
			}
			continue
		}
		for _, e := range chunk {
			e.got, e.created, e.err = st.Insert(e.ctx, e.rec, nil)
		}
	}
}
