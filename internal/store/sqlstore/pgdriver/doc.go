// Package pgdriver is the store's database/sql driver for PostgreSQL: a
// thin layer over pgx's wire package, pgconn, without pgx's type system
// (pgtype) or its database/sql adapter (stdlib), which together were about
// 626 KB of every function's zip.
//
// Every statement is one round trip of the extended protocol (Parse, Bind,
// Describe, Execute, Sync on the unnamed statement): parameters go as text,
// []byte as binary, and the server infers their types from the statement;
// results come back as text and are decoded by their column's type OID
// into the values database/sql scans. Nothing is kept prepared, so it is
// also safe behind a transaction-mode pooler. A statement without
// arguments given to Exec goes by the simple protocol, so a migration file
// may hold several statements.
//
// Errors from the server are *pgconn.PgError, so callers read SQLSTATE
// codes as with pgx. Only package sqlstore imports it.
package pgdriver
