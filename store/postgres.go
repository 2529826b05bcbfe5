package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"

	"mlgraph/internal/apperr"
)

// Connection pool of one instance on PostgreSQL. Several instances share the
// server's max_connections (100 by default): ten each leave room for eight
// instances and some administration.
const (
	pgMaxOpenConns = 10
	// Enough idle connections for a burst of requests not to reconnect.
	pgMaxIdleConns    = 5
	pgConnMaxIdleTime = 5 * time.Minute
	// Recycling connections lets them move to a new primary after a
	// failover, or spread again behind a connection pooler.
	pgConnMaxLifetime = 30 * time.Minute
	// Used when the URL sets no connect_timeout: without one, a host that
	// drops packets holds Open for minutes.
	pgConnectTimeout = 10 * time.Second
)

// migrationLockKey is the advisory lock that serialises migrations (an
// arbitrary constant: "mlgraph" in ASCII).
const migrationLockKey int64 = 0x6d6c6772617068

// openPostgres opens the connection pool for a postgres:// URL and the GORM
// dialect to use it with. pgx reads what the URL leaves out from the PG*
// environment variables and ~/.pgpass, so a password need not be in it.
func openPostgres(dsn string) (*sql.DB, gorm.Dialector, error) {
	config, err := pgx.ParseConfig(dsn)
	if err != nil {
		// pgx's message has the password redacted.
		return nil, nil, fmt.Errorf("open database: %w", err)
	}
	if config.ConnectTimeout == 0 {
		config.ConnectTimeout = pgConnectTimeout
	}
	sqlDB := stdlib.OpenDB(*config, stdlib.OptionAfterConnect(func(_ context.Context, conn *pgx.Conn) error {
		// pgx returns timestamptz values in time.Local; records carry UTC
		// times, as they do on SQLite.
		conn.TypeMap().RegisterType(&pgtype.Type{
			Name: "timestamptz", OID: pgtype.TimestamptzOID,
			Codec: &pgtype.TimestamptzCodec{ScanLocation: time.UTC},
		})
		return nil
	}))
	sqlDB.SetMaxOpenConns(pgMaxOpenConns)
	sqlDB.SetMaxIdleConns(pgMaxIdleConns)
	sqlDB.SetConnMaxIdleTime(pgConnMaxIdleTime)
	sqlDB.SetConnMaxLifetime(pgConnMaxLifetime)
	return sqlDB, postgres.New(postgres.Config{Conn: sqlDB}), nil
}

// newInstanceID returns a random positive id for a Store. Random rather
// than from a sequence: it needs no table, and two of a handful of
// instances drawing the same 63 bits is not a risk worth a table.
func newInstanceID() int64 {
	for {
		if id := rand.Int64(); id > 0 {
			return id
		}
	}
}

// instanceLease holds a session-level advisory lock on a Store's instance id
// for as long as the Store is open. PostgreSQL releases it when the session
// ends, however the process ended, so "the lock is free" means "that
// instance is gone" (see FailInterruptedModels).
type instanceLease struct {
	db  *sql.DB
	key int64

	mu sync.Mutex
	// conn is the session holding the lock, nil if it has none.
	conn *sql.Conn
}

// Keepalives for the lease's session, so that PostgreSQL notices within
// about a minute that the host of an instance died or became unreachable
// (the system default is two hours), and frees its lock. They are ordinary
// user settings, and PostgreSQL ignores them on Unix sockets.
var leaseKeepalives = []string{
	"SET tcp_keepalives_idle = 30",
	"SET tcp_keepalives_interval = 10",
	"SET tcp_keepalives_count = 3",
}

// hold makes sure the lease's session is alive and holds the lock, taking
// a new session if the old one was lost (say PostgreSQL restarted).
func (l *instanceLease) hold(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conn != nil {
		if err := l.conn.PingContext(ctx); err == nil {
			return nil
		}
		l.drop()
	}
	conn, err := l.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("take instance lease: %w", err)
	}
	for _, set := range leaseKeepalives {
		if _, err := conn.ExecContext(ctx, set); err != nil {
			conn.Close()
			return fmt.Errorf("take instance lease: %w", err)
		}
	}
	var locked bool
	if err := conn.QueryRowContext(ctx, "SELECT pg_try_advisory_lock($1)", l.key).Scan(&locked); err != nil {
		conn.Close()
		return fmt.Errorf("take instance lease: %w", err)
	}
	if !locked {
		// Only another Store with the same random id could hold it.
		conn.Close()
		return fmt.Errorf("take instance lease: lock %d is held by another session", l.key)
	}
	l.conn = conn
	return nil
}

// release unlocks and closes the lease's session.
func (l *instanceLease) release() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conn == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// On failure the lock goes with the session, a little later.
	_, _ = l.conn.ExecContext(ctx, "SELECT pg_advisory_unlock($1)", l.key)
	l.drop()
}

// drop closes the lease's session for good: returned to the pool, a session
// that may still hold the lock would keep it while idle there.
func (l *instanceLease) drop() {
	_ = l.conn.Raw(func(any) error { return driver.ErrBadConn })
	_ = l.conn.Close()
	l.conn = nil
}

// instanceGone reports whether the Store with the given instance id is
// closed or its process dead. On PostgreSQL its lease tells, and the lock
// taken to look stays held until tx ends, so that the instance cannot be
// found alive again meanwhile. SQLite is one process's file: any instance
// but this one is gone.
func (s *Store) instanceGone(tx *gorm.DB, instance int64) (bool, error) {
	if !s.postgres {
		return instance != s.instance, nil
	}
	if instance == s.instance {
		return false, nil
	}
	var free bool
	if err := tx.Raw("SELECT pg_try_advisory_xact_lock(?)", instance).Scan(&free).Error; err != nil {
		return false, fmt.Errorf("check instance %d: %w", instance, err)
	}
	return free, nil
}

// textError turns PostgreSQL's refusal of a text value into BAD_USER_INPUT:
// PostgreSQL text cannot hold NUL characters (SQLite's can), and those come
// from the client. Other errors are returned as they are.
func textError(err error) error {
	var pgErr *pgconn.PgError
	// 22021: character_not_in_repertoire, as for a NUL byte in UTF-8 text.
	if errors.As(err, &pgErr) && pgErr.Code == "22021" {
		return apperr.BadInputf("text must not contain NUL (\\u0000) characters")
	}
	return err
}
