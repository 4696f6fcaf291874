package sqlstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/store"
	"github.com/vpngw/vpngw/internal/store/sqlstore"
)

// BenchmarkInsertWithin: what applying a quota adds to recording a request,
// on SQLite, with 1,000 requests of the source already recorded (a day's
// history). (The PostgreSQL and MySQL test URLs name shared databases; a
// benchmark must not migrate them.)
func BenchmarkInsertWithin(b *testing.B) {
	since := time.Now().Add(-24 * time.Hour)
	for _, bc := range []struct {
		name string
		q    store.Quota
	}{
		{"no quota", store.Quota{}},
		{"pending and perDay", store.Quota{Pending: 1 << 30, PerDay: 1 << 30, Since: since}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ctx := context.Background()
			s, err := sqlstore.OpenSQL(ctx, "sqlite://"+b.TempDir()+"/bench.db")
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			rec := func(key string, st store.State) store.Request {
				return store.Request{Key: key, Source: "/bench", EventID: key, ClientToken: "t", RegionID: "cn-hangzhou", State: st}
			}
			for i := range 1000 {
				st := []store.State{store.Active, store.Failed, store.Pending, store.Received}[i%4]
				if _, _, err := s.Insert(ctx, rec(fmt.Sprintf("old-%04d", i), st), nil); err != nil {
					b.Fatal(err)
				}
			}
			i := 0
			for b.Loop() {
				i++
				if _, created, err := s.InsertWithin(ctx, rec(fmt.Sprintf("new-%d", i), store.Received), nil, bc.q); err != nil || !created {
					b.Fatalf("InsertWithin = %v, %v", created, err)
				}
			}
		})
	}
}
