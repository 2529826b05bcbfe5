// Package testdb gives each test a new, empty database of its own: an
// SQLite file by default, or a PostgreSQL database when MLGRAPH_TEST_POSTGRES
// holds the URL of a PostgreSQL server to create databases on, e.g.
//
//	MLGRAPH_TEST_POSTGRES='postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable' go test ./store .
//
// The URL's user must be allowed to create databases, and the server must
// be PostgreSQL 13 or later (DROP DATABASE ... WITH (FORCE)).
package testdb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvPostgres names the variable holding the admin URL of a PostgreSQL
// server; unset, tests use SQLite.
const EnvPostgres = "MLGRAPH_TEST_POSTGRES"

// Postgres reports whether tests run on PostgreSQL.
func Postgres() bool { return os.Getenv(EnvPostgres) != "" }

// New returns the data source (what store.Open takes) of a new, empty
// database for t alone: the path of a file in t.TempDir(), or the URL of a
// PostgreSQL database created for t and dropped when t ends.
func New(t testing.TB) string {
	t.Helper()
	admin := os.Getenv(EnvPostgres)
	if admin == "" {
		return filepath.Join(t.TempDir(), "mlgraph.db")
	}
	dsn, err := createDatabase(t, admin)
	if err != nil {
		t.Fatalf("%s: %v", EnvPostgres, err)
	}
	return dsn
}

// createDatabase creates a database with a name of its own on the server of
// the admin URL, and returns its URL (the admin URL with the database
// replaced). The database is dropped when t ends; registered first, the
// drop runs after the cleanups that close the test's connections.
func createDatabase(t testing.TB, admin string) (string, error) {
	u, err := url.Parse(admin)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		// Not err itself: it quotes the URL, password and all.
		return "", fmt.Errorf("want a postgres:// URL")
	}
	name := databaseName(t.Name())
	if err := exec(admin, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", fmt.Errorf("create database %s: %w", name, err)
	}
	t.Cleanup(func() {
		// FORCE: a connection the test leaked must not leave the database behind.
		if err := exec(admin, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	u.RawPath = ""
	return u.String(), nil
}

// databaseName returns a new database name that says which test it is for,
// within PostgreSQL's 63 bytes and needing no quotes.
func databaseName(test string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(test) {
		if b.Len() == 32 {
			break
		}
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	var random [6]byte
	rand.Read(random[:])
	return "mlgraph_test_" + hex.EncodeToString(random[:]) + "_" + b.String()
}

// exec runs one statement on a connection of its own to the admin URL.
// CREATE and DROP DATABASE cannot run in a transaction, which pgx's Exec
// without arguments does not open.
func exec(admin, statement string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, statement)
	return err
}
