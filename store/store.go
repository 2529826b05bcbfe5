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
	db *gorm.DB
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

// Open opens (creating it if needed) the SQLite database file at path and
// migrates its schema.
func Open(path string) (*Store, error) {
	sqlDB, dialector, err := openDatabase(path)
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
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	s := &Store{db: db}
	if err := s.migrate(); err != nil {
		s.Close()
		return nil, fmt.Errorf("migrate database %s: %w", path, err)
	}
	return s, nil
}

// openDatabase opens the connection pool for the data source and the GORM
// dialect to use it with. Only SQLite files exist for now; PostgreSQL will
// be chosen by a postgres:// URL.
func openDatabase(dataSource string) (*sql.DB, gorm.Dialector, error) {
	switch {
	case dataSource == "":
		return nil, nil, errors.New("open database: empty path")
	case strings.HasPrefix(dataSource, "postgres://"), strings.HasPrefix(dataSource, "postgresql://"):
		return nil, nil, errors.New("open database: PostgreSQL is not supported yet")
	case strings.ContainsRune(dataSource, '?'):
		// The driver would take the rest for its own options.
		return nil, nil, fmt.Errorf("open database %s: path must not contain '?'", dataSource)
	case dataSource == ":memory:":
		// Each pooled connection would get its own empty database.
		return nil, nil, errors.New("open database: in-memory databases are not supported")
	}
	sqlDB := sql.OpenDB(&sqliteConnector{
		dsn: dataSource + "?" + sqlitePragmas.Encode(),
		driver: &sqlite3.SQLiteDriver{ConnectHook: func(conn *sqlite3.SQLiteConn) error {
			// The one setting the driver's DSN has no parameter for.
			_, err := conn.Exec(fmt.Sprintf("PRAGMA journal_size_limit = %d", walSizeLimit), nil)
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
	if err := sqlDB.Close(); err != nil {
		return fmt.Errorf("close database: %w", err)
	}
	return nil
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return fmt.Errorf("ping database: %w", err)
	}
	if err := sqlDB.PingContext(ctx); err != nil {
		return fmt.Errorf("ping database: %w", err)
	}
	return nil
}
