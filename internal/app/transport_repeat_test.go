package app

import (
	"strings"
	"testing"
)

// The drivers let the last of repeated parameters win (pgx also takes ssl=true
// for sslmode=require, and go-sql-driver reads tls=skip-verify): a function
// refuses every store URL whose TLS the driver would not verify, whatever the
// first value says.
func TestStoreURLRepeatedTLSKeysRefused(t *testing.T) {
	for _, raw := range []string{
		"postgres://u:pw-secret@db.internal:5432/vpngw?sslmode=verify-full&sslmode=disable",
		"postgres://u:pw-secret@db.internal:5432/vpngw?sslmode=verify-full&%20sslmode=disable",
		"postgres://u:pw-secret@db.internal:5432/vpngw?sslmode=verify-full&ssl=true",
		"postgres://u:pw-secret@db.internal:5432/vpngw?sslrootcert=system&sslrootcert=/code/ca.pem&sslmode=require",
		"postgres://u:pw-secret@db.internal:5432/vpngw?sslmode=verify-full&SSLMODE=disable",
		"mysql://u:pw-secret@db.internal:3306/vpngw?tls=true&tls=false",
		"mysql://u:pw-secret@tcp(db.internal:3306)/vpngw?tls=true&tls=skip-verify",
		"mysql://u:pw-secret@db.internal:3306/vpngw?tls=true&%20tls=preferred",
	} {
		storeURLRefused(t, raw, "VPNGW_STORE_URL")
	}
}

// tls=true with allowFallbackToPlaintext lets the driver go on in plaintext
// when the server offers no TLS, and allowCleartextPasswords sends the
// password as written: a function refuses both.
func TestStoreURLMySQLDowngradeRefused(t *testing.T) {
	for _, raw := range []string{
		"mysql://u:pw-secret@db.internal:3306/vpngw?tls=true&allowFallbackToPlaintext=true",
		"mysql://u:pw-secret@tcp(db.internal:3306)/vpngw?tls=true&allowCleartextPasswords=true",
		"mysql://u:pw-secret@tcp(db.internal:3306)/vpngw?tls=true&allowFallbackToPlaintext=1&allowCleartextPasswords=1",
	} {
		storeURLRefused(t, raw, "VPNGW_STORE_URL", "allow")
	}
}

// storeURLRefused checks that a function refuses the store URL raw with an
// error naming each of names and never the URL's password, pw-secret.
func storeURLRefused(t *testing.T, raw string, names ...string) {
	t.Helper()
	_, err := FromEnv(functionEnv(map[string]string{"VPNGW_STORE_URL": raw}), Function)
	if err == nil {
		t.Errorf("VPNGW_STORE_URL=%s accepted in function mode", raw)
		return
	}
	msg := err.Error()
	for _, name := range names {
		if !strings.Contains(msg, name) {
			t.Errorf("%s: error %q does not name %s", raw, msg, name)
		}
	}
	if strings.Contains(msg, "pw-secret") {
		t.Errorf("%s: error %q prints the password", raw, msg)
	}
}
