// Package sqlstore keeps the store.Store contract on SQLite (embedded, the
// default), PostgreSQL or MySQL/MariaDB.
//
// Open picks the backend from the URL scheme and applies the embedded schema
// migrations (migrations/<dialect>/, under an advisory lock). Besides the
// store.Store contract it keeps what several instances must share: the
// webhook's replay keys (FirstUse) and the API call queue of the shared rate
// limit (ReserveSlot). Only the
// composition root (internal/app) and operator tools open a store; the use
// cases see the store.Store methods they declare, so the database drivers stay
// out of their import graph.
package sqlstore
