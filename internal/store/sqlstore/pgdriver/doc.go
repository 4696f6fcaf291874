// Package pgdriver is the store's database/sql driver for PostgreSQL: a
// thin layer over pgx's wire package, pgconn, without pgx's type system
// (pgtype) or its database/sql adapter (stdlib), which together were about
// 620 KB of every function's zip.
//
// Every statement is one round trip of the extended protocol. Its first run
// on a connection prepares it on the way (Parse, Describe, Bind, Execute,
// Sync, pipelined), so that the server neither parses nor plans it again
// (Bind, Execute, Sync) on its later runs; pgx prepared it in a round trip
// of its own first. default_query_exec_mode=exec in the URL keeps nothing
// prepared (the unnamed statement every time), for a transaction-mode
// pooler. Parameters go as text, []byte as binary, and the server infers
// their types from the statement; results come back as text and are
// decoded by their column's type OID into the values database/sql scans. A
// statement without arguments given to Exec goes by the simple protocol,
// so a migration file may hold several statements.
//
// Errors from the server are *pgconn.PgError, so callers read SQLSTATE
// codes as with pgx. Package sqlstore imports it, and the cold-start tool
// for its admin connection.
package pgdriver
