package store

// MySQLConfig exposes the URL conversion to the external tests, which use it
// to reach the test server as an administrator.
var MySQLConfig = mysqlConfig
