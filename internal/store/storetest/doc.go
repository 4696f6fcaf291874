// Package storetest is the contract every store.Store backend must pass: one
// suite, run by each backend's tests (SQLite always; PostgreSQL and MySQL
// when their test URLs are set), so that the backends cannot drift apart.
//
// Only tests import it:
//
//	storetest.Run(t, func(t *testing.T) store.Store { … a fresh, empty store … })
//
// RunShared is the part of the contract that holds across instances: it
// needs several handles on one fresh database, as several function
// instances have.
//
//	storetest.RunShared(t, func(t *testing.T, n int) []store.Store { … n handles on one fresh database … })
package storetest
