package pgdriver

import (
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// DefaultStatementCacheCapacity is how many statements a connection keeps
// prepared (pgx's default); a URL's statement_cache_capacity sets it.
const DefaultStatementCacheCapacity = 512

// stmtCache is a connection's prepared statements by SQL text, the least
// recently used dropped first. A statement met for the first time is
// prepared and run in the same round trip (Parse, Describe, Bind, Execute,
// Sync, pipelined), so the cache costs no round trip; from then on it runs
// as Bind, Execute, Sync, and the server neither parses nor plans it again
// (for a one-row read of a request, half the statement's time on the
// server).
type stmtCache struct {
	cap   int
	byQ   map[string]*list.Element // of *cached
	lru   *list.List
	stale []string // evicted, closed on the server with the next new statement
}

type cached struct{ query, name string }

func newStmtCache(capacity int) *stmtCache {
	return &stmtCache{cap: capacity, byQ: map[string]*list.Element{}, lru: list.New()}
}

func (sc *stmtCache) get(query string) (string, bool) {
	e, ok := sc.byQ[query]
	if !ok {
		return "", false
	}
	sc.lru.MoveToFront(e)
	return e.Value.(*cached).name, true
}

// statementName is the server's name for query's statement: a digest of
// its text (as pgx names its statements), so that a name means the same SQL
// on every connection. Behind a pooler that hands one client's server
// session to another, a name numbered per connection could run another
// statement's SQL with this one's arguments; a digest either finds the same
// SQL or fails loudly (prepared statement does not exist, or already does).
func statementName(query string) string {
	sum := sha256.Sum256([]byte(query))
	return "vpngw_" + hex.EncodeToString(sum[:24])
}

// add names query's statement, evicting the least recently used beyond
// the capacity.
func (sc *stmtCache) add(query string) string {
	name := statementName(query)
	sc.byQ[query] = sc.lru.PushFront(&cached{query: query, name: name})
	for sc.lru.Len() > sc.cap {
		old := sc.lru.Remove(sc.lru.Back()).(*cached)
		delete(sc.byQ, old.query)
		sc.stale = append(sc.stale, old.name)
	}
	return name
}

func (sc *stmtCache) remove(query string) {
	if e, ok := sc.byQ[query]; ok {
		sc.lru.Remove(e)
		delete(sc.byQ, query)
	}
}

// reset forgets every statement, as after the server has lost them or
// their plans no longer fit the tables. Their names are closed on the
// server with the next new statement (closing a name the server does not
// have is no error), so that one prepared again under its name does not
// meet the old one.
func (sc *stmtCache) reset() {
	for e := sc.lru.Front(); e != nil; e = e.Next() {
		sc.stale = append(sc.stale, e.Value.(*cached).name)
	}
	sc.byQ = map[string]*list.Element{}
	sc.lru.Init()
}

// invalidates reports whether err means the connection's prepared
// statements are gone (a pooler or DISCARD ALL dropped them) or stale (a
// table they read changed shape): pgx's rule for clearing its cache.
func invalidates(err error) bool {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return false
	}
	return pe.Code == "26000" ||
		(pe.Code == "0A000" && strings.Contains(pe.Message, "cached plan must not change result type"))
}

// start sends query with its arguments, in one round trip, and returns its
// result and, when the statement was prepared on the way, the pipeline
// that must be closed after the result.
func (c *conn) start(ctx context.Context, query string, values [][]byte, formats []int16) (*pgconn.ResultReader, *pgconn.Pipeline, error) {
	if c.stmts == nil {
		return c.pg.ExecParams(ctx, query, values, nil, formats, nil), nil, nil
	}
	if name, ok := c.stmts.get(query); ok {
		return c.pg.ExecPrepared(ctx, name, values, formats, nil), nil, nil
	}
	stale := c.stmts.stale
	c.stmts.stale = nil
	name := c.stmts.add(query)
	p := c.pg.StartPipeline(ctx)
	for _, s := range stale {
		p.SendDeallocate(s)
	}
	p.SendPrepare(name, query, nil)
	p.SendQueryPrepared(name, values, formats, nil)
	fail := func(err error) (*pgconn.ResultReader, *pgconn.Pipeline, error) {
		c.stmts.remove(query)
		_ = p.Close()
		return nil, nil, err
	}
	if err := p.Sync(); err != nil {
		return fail(err)
	}
	for range len(stale) + 1 {
		if _, err := p.GetResults(); err != nil {
			return fail(err)
		}
	}
	res, err := p.GetResults()
	if err != nil {
		_ = p.Close()
		return nil, nil, err
	}
	rr, ok := res.(*pgconn.ResultReader)
	if !ok {
		_ = p.Close()
		return nil, nil, errors.New("pgdriver: pipeline: no result for the statement")
	}
	return rr, p, nil
}

// finish closes what start opened and returns the first error.
func (c *conn) finish(rr *pgconn.ResultReader, p *pgconn.Pipeline) (pgconn.CommandTag, error) {
	tag, err := rr.Close()
	if p != nil {
		if perr := p.Close(); err == nil {
			err = perr
		}
	}
	if err != nil && c.stmts != nil && invalidates(err) {
		c.stmts.reset()
	}
	return tag, err
}
