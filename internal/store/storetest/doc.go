// Package storetest is the contract every store.Store backend must pass: one
// suite, run by each backend's tests (SQLite always; PostgreSQL and MySQL
// when their test URLs are set), so that the backends cannot drift apart.
//
// Only tests import it:
//
//	storetest.Run(t, func(t *testing.T) store.Store { … a fresh, empty store … })
package storetest
