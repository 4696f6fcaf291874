package sqlstore

// MySQLConfig exposes the URL conversion to the external tests, which use it
// to reach the test server as an administrator.
var MySQLConfig = mysqlConfig

// LatestVersion is the newest migration version of the store kind.
func LatestVersion(kind string) int {
	d := map[string]*dialect{"sqlite": sqliteDialect, "postgres": postgresDialect, "mysql": mysqlDialect}[kind]
	ms, err := d.migrations()
	if err != nil || len(ms) == 0 {
		return -1
	}
	return ms[len(ms)-1].version
}

// Exec runs a statement on the store's write connection: the tests use it to
// put schema_migrations in states Migrate never leaves.
func Exec(s *Store, q string, args ...any) error {
	_, err := s.wdb.Exec(s.d.rebind(q), args...)
	return err
}

// Versions are the migration versions this build carries for the store's
// backend, in order.
func Versions(s *Store) []int {
	ms, _ := s.d.migrations()
	var out []int
	for _, m := range ms {
		out = append(out, m.version)
	}
	return out
}
