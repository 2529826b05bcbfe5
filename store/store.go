// Package store persists mlgraph's datasets, models and predictions.
//
// It is the only package that knows about GORM and SQL: callers get plain
// records and client-facing errors from mlgraph/internal/apperr (NOT_FOUND
// for missing ids, BAD_USER_INPUT for bad cursors); any other error is
// internal.
//
// Bulk bytes live apart from the rows that describe them, so that lists and
// lookups never read them: a dataset's encoded columns are in
// dataset_columns (one row per column) and a model's fitted state is in
// model_states.
//
// The database is an SQLite file (store.go), or a PostgreSQL database that
// several mlgraph processes may share (postgres.go); the schema and the
// queries are the same on both.
package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/mattn/go-sqlite3"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Store is a handle on the database; it is safe for concurrent use.
type Store struct {
	db       *gorm.DB
	postgres bool
	// instance identifies this Store among those that share the database:
	// the models it creates carry it, so that FailInterruptedModels can tell
	// an interrupted training from another process's running one.
	instance int64
	// lease, on PostgreSQL, keeps instance locked while the Store is open,
	// which is how other processes see that it is alive. Nil on SQLite.
	lease *instanceLease
	// checkpoints, on SQLite, moves the WAL into the database file in the
	// background. Nil on PostgreSQL.
	checkpoints *checkpointer
}

// sqlitePragmas are set through the DSN, which the driver applies to every
// connection it opens: a PRAGMA run once through the pool would only reach
// the one connection that happened to run it.
var sqlitePragmas = url.Values{
	// WAL lets readers proceed while a writer commits.
	"_journal_mode": {"WAL"},
	// Wait for a competing writer instead of failing with SQLITE_BUSY.
	"_busy_timeout": {"10000"},
	// SQLite ignores REFERENCES clauses unless asked, per connection.
	"_foreign_keys": {"on"},
	// BEGIN IMMEDIATE takes the write lock up front. A deferred transaction
	// that reads and then writes cannot wait for the lock (SQLite reports
	// "database is locked" at once, the busy timeout notwithstanding).
	"_txlock": {"immediate"},
	// In WAL mode: no fsync per commit and still no corruption; a power cut
	// (not a crash of the process) may lose the last commits.
	"_synchronous": {"NORMAL"},
}

// walSizeLimit is the size the WAL file is cut back to after a checkpoint.
// A transaction storing a large dataset grows the WAL to the dataset's size,
// and without a limit the file would keep that size, doubling the disk
// used, for as long as the process runs.
const walSizeLimit = 32 << 20

// Open opens the database that dsn names and migrates its schema. A
// postgres:// or postgresql:// URL names a PostgreSQL database, which must
// exist; anything else is the path of an SQLite file, created if missing.
func Open(dsn string) (*Store, error) {
	name := RedactDSN(dsn)
	isPostgres := isPostgresDSN(dsn)
	var (
		sqlDB     *sql.DB
		dialector gorm.Dialector
		err       error
	)
	if isPostgres {
		sqlDB, dialector, err = openPostgres(dsn)
	} else {
		sqlDB, dialector, err = openSQLite(dsn)
	}
	if err != nil {
		return nil, err
	}
	db, err := gorm.Open(dialector, &gorm.Config{
		Logger: logger.New(log.New(os.Stderr, "store: ", log.LstdFlags), logger.Config{
			LogLevel:                  logger.Error,
			IgnoreRecordNotFoundError: true,
			// Never print bound values: they include multi-megabyte blobs.
			ParameterizedQueries: true,
		}),
		// Times round-trip unchanged through any database: UTC, and no finer
		// than PostgreSQL's microseconds.
		NowFunc: func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) },
		// Lets us recognise foreign-key violations (gorm.ErrForeignKeyViolated).
		TranslateError: true,
	})
	if err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("open database %s: %w", name, err)
	}
	s := &Store{db: db, postgres: isPostgres, instance: newInstanceID()}
	if err := s.migrate(); err != nil {
		s.Close()
		return nil, fmt.Errorf("migrate database %s: %w", name, err)
	}
	if !isPostgres {
		s.startCheckpointer()
	}
	if isPostgres {
		s.lease = &instanceLease{db: sqlDB, key: s.instance}
		if err := s.lease.hold(context.Background()); err != nil {
			s.Close()
			return nil, fmt.Errorf("open database %s: %w", name, err)
		}
	}
	return s, nil
}

// isPostgresDSN reports whether dsn names a PostgreSQL database.
func isPostgresDSN(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// RedactDSN returns dsn fit for logs and error messages: a PostgreSQL URL's
// password is replaced by "xxxxx".
func RedactDSN(dsn string) string {
	if !isPostgresDSN(dsn) {
		return dsn
	}
	u, err := url.Parse(dsn)
	if err != nil {
		// It may still hold a password: show only what it is.
		scheme, _, _ := strings.Cut(dsn, ":")
		return scheme + "://(unparsable URL)"
	}
	return u.Redacted()
}

// openSQLite opens the connection pool for the SQLite file at path and the
// GORM dialect to use it with.
func openSQLite(path string) (*sql.DB, gorm.Dialector, error) {
	switch {
	case path == "":
		return nil, nil, errors.New("open database: empty path")
	case strings.ContainsRune(path, '?'):
		// The driver would take the rest for its own options.
		return nil, nil, fmt.Errorf("open database %s: path must not contain '?'", path)
	case path == ":memory:":
		// Each pooled connection would get its own empty database.
		return nil, nil, errors.New("open database: in-memory databases are not supported")
	}
	sqlDB := sql.OpenDB(&sqliteConnector{
		dsn: path + "?" + sqlitePragmas.Encode(),
		driver: &sqlite3.SQLiteDriver{ConnectHook: func(conn *sqlite3.SQLiteConn) error {
			// Settings the driver's DSN has no parameter for; checkpoints
			// are the store's (see checkpointer).
			_, err := conn.Exec(fmt.Sprintf("PRAGMA journal_size_limit = %d; PRAGMA wal_autocheckpoint = 0", walSizeLimit), nil)
			return err
		}},
	})
	return sqlDB, sqlite.New(sqlite.Config{Conn: sqlDB}), nil
}

// sqliteConnector opens SQLite connections with a given DSN and driver, so
// that the driver's ConnectHook needs no global sql.Register.
type sqliteConnector struct {
	dsn    string
	driver *sqlite3.SQLiteDriver
}

func (c *sqliteConnector) Connect(context.Context) (driver.Conn, error) { return c.driver.Open(c.dsn) }
func (c *sqliteConnector) Driver() driver.Driver                        { return c.driver }

// Close closes the database.
func (s *Store) Close() error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return fmt.Errorf("close database: %w", err)
	}
	s.stopCheckpointer()
	if s.lease != nil {
		// Released explicitly, not only with the session: PostgreSQL ends a
		// closed session asynchronously, and an instance started right
		// after this one must see that this one is gone.
		s.lease.release()
	}
	if err := sqlDB.Close(); err != nil {
		return fmt.Errorf("close database: %w", err)
	}
	return nil
}

// Ping checks that the database answers and, on PostgreSQL, that this
// instance still holds its lease (taking it again if the session was lost).
func (s *Store) Ping(ctx context.Context) error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return fmt.Errorf("ping database: %w", err)
	}
	if err := sqlDB.PingContext(ctx); err != nil {
		return fmt.Errorf("ping database: %w", err)
	}
	if s.lease != nil {
		if err := s.lease.hold(ctx); err != nil {
			return fmt.Errorf("ping database: %w", err)
		}
	}
	return nil
}
