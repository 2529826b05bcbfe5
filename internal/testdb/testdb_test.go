package testdb

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestDatabaseName(t *testing.T) {
	a, b := databaseName("TestX/sub case-1"), databaseName("TestX/sub case-1")
	if a == b {
		t.Errorf("two names for one test are both %q", a)
	}
	if !strings.HasSuffix(a, "_testx_sub_case_1") || len(a) > 63 {
		t.Errorf("name %q", a)
	}
	if long := databaseName(strings.Repeat("Test", 40)); len(long) > 63 {
		t.Errorf("name %q is longer than 63 bytes", long)
	}
}

// TestNew checks that a database is new, usable and, on PostgreSQL, gone
// once its test ends.
func TestNew(t *testing.T) {
	var dsn string
	t.Run("use", func(t *testing.T) {
		dsn = New(t)
		if !Postgres() {
			if filepath.Dir(filepath.Dir(dsn)) != filepath.Dir(t.TempDir()) {
				t.Errorf("SQLite path %s is not in the test's temporary directory", dsn)
			}
			return
		}
		if New(t) == dsn {
			t.Fatal("two databases for one test have the same URL")
		}
		conn, err := pgx.Connect(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		var tables int
		if err := conn.QueryRow(context.Background(), "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").Scan(&tables); err != nil || tables != 0 {
			t.Errorf("new database has %d tables (%v), want 0", tables, err)
		}
		// Left open on purpose: the drop must not wait for it.
		if _, err := pgx.Connect(context.Background(), dsn); err != nil {
			t.Fatal(err)
		}
	})
	if !Postgres() {
		if _, err := os.Stat(filepath.Dir(dsn)); !os.IsNotExist(err) {
			t.Errorf("temporary directory of %s still there: %v", dsn, err)
		}
		return
	}
	conn, err := pgx.Connect(context.Background(), dsn)
	if err == nil {
		conn.Close(context.Background())
		t.Errorf("database %s still there after its test", dsn)
	}
}
