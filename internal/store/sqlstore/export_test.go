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
