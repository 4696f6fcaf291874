package app

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/vpngw/vpngw/internal/store/sqlstore"
)

// MigrateCommand is what an operator runs, with a DDL-capable user's
// VPNGW_STORE_URL, to bring the store's schema up to this build's.
const MigrateCommand = "vpngwctl migrate (go run ./cmd/vpngwctl migrate)"

// storeOptions are the options every store vpngw opens gets from the
// configuration: the CA bundle.
func storeOptions(c Config) []sqlstore.Option {
	if c.CAFile == "" {
		return nil
	}
	return []sqlstore.Option{sqlstore.WithCA(c.CAFile, c.RootCAs)}
}

// openStore opens VPNGW_STORE_URL. With VPNGW_MIGRATE=on it migrates the
// schema; otherwise it only reads the schema version, and refuses a schema
// this build's code would fail on, naming both versions and the command that
// migrates it.
func openStore(ctx context.Context, c Config, extra ...sqlstore.Option) (*sqlstore.Store, error) {
	opts := append(storeOptions(c), extra...)
	if !c.Migrate {
		opts = append(opts, sqlstore.WithoutMigrate())
	}
	s, err := sqlstore.OpenSQL(ctx, c.StoreURL, opts...)
	if err != nil {
		return nil, fmt.Errorf("VPNGW_STORE_URL: %w", err)
	}
	if c.Migrate {
		return s, nil
	}
	// The first invocation's drain takes two connections at once (the
	// first sink and the chat replies): the second is made now, in the
	// background, while the check makes and uses the first, so that
	// neither the start nor the drain waits for it. Its error, if any, is
	// the check's too, which reports it.
	go func() { _ = s.Warm(context.WithoutCancel(ctx), sqlstore.DefaultMaxIdleConns-1) }()
	if err := s.CheckSchema(ctx); err != nil {
		s.Close()
		if errors.Is(err, sqlstore.ErrSchemaBehind) {
			return nil, fmt.Errorf("VPNGW_STORE_URL: %w; VPNGW_MIGRATE=off, so functions do not change the schema: run %s with VPNGW_STORE_URL naming a user that may create and alter tables, then start again", err, MigrateCommand)
		}
		return nil, fmt.Errorf("VPNGW_STORE_URL: %w", err)
	}
	return s, nil
}

// StoreFromEnv reads what the store needs (VPNGW_STORE_URL, VPNGW_CA_FILE,
// and, unless VPNGW_ALLOW_INSECURE_TRANSPORT=1, verified TLS) and opens the
// store without migrating it: the operator commands' store.
func StoreFromEnv(ctx context.Context, getenv func(string) string) (*sqlstore.Store, error) {
	c, err := storeConfig(getenv)
	if err != nil {
		return nil, err
	}
	opts := append(storeOptions(c), sqlstore.WithoutMigrate())
	s, err := sqlstore.OpenSQL(ctx, c.StoreURL, opts...)
	if err != nil {
		return nil, fmt.Errorf("VPNGW_STORE_URL: %w", err)
	}
	return s, nil
}

// storeConfig is the part of FromEnv the store needs, with the same checks a
// function makes.
func storeConfig(getenv func(string) string) (Config, error) {
	var c Config
	var errs []error
	c.StoreURL = strings.TrimSpace(getenv("VPNGW_STORE_URL"))
	if c.StoreURL == "" {
		return c, errors.New("VPNGW_STORE_URL is not set: name the store to migrate, e.g. postgres://owner@host:5432/vpngw?sslmode=verify-full")
	}
	errs = append(errs, readVars(getenv, Function, &c, "VPNGW_ALLOW_INSECURE_TRANSPORT", "VPNGW_CA_FILE")...)
	if !c.AllowInsecureTransport {
		if err := checkStoreTransport(c.StoreURL, c.CAFile != ""); err != nil {
			errs = append(errs, fmt.Errorf("VPNGW_STORE_URL: %w %s", err, insecureHint))
		}
	}
	return c, errors.Join(errs...)
}

// queueURLWithCA adds the CA bundle to a TLS broker URL that names none:
// ca_file for NATS (tls://), HTTPS, Kafka with tls=true and MQTT (mqtts://),
// cacertfile for AMQP (amqps://).
func queueURLWithCA(raw, caFile string) string {
	if caFile == "" {
		return raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	param := ""
	switch strings.ToLower(u.Scheme) {
	case "tls", "https", "mqtts":
		param = "ca_file"
	case "kafka":
		if v, _ := strconv.ParseBool(u.Query().Get("tls")); !v {
			return raw
		}
		param = "ca_file"
	case "amqps":
		param = "cacertfile"
	default:
		return raw
	}
	q := u.Query()
	if q.Get(param) != "" {
		return raw
	}
	q.Set(param, caFile)
	u.RawQuery = q.Encode()
	return u.String()
}
