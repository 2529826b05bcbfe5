package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"mlgraph/internal/apperr"
	"mlgraph/internal/testdb"
)

// openTestStore opens a store on a new database (see testdb.New), closed
// with the test, and returns it with the database's data source.
func openTestStore(t testing.TB) (*Store, string) {
	t.Helper()
	dsn := testdb.New(t)
	s, err := Open(dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, dsn
}

// wantCode fails the test unless err is a client-facing error with code.
func wantCode(t *testing.T, err error, code apperr.Code) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s", code)
	}
	if got := apperr.CodeOf(err); got != code {
		t.Fatalf("got error %q with code %q, want code %q", err, got, code)
	}
}

// failOn makes every INSERT into table fail inside s, to test rollbacks.
func failOn(t *testing.T, s *Store, table string) error {
	t.Helper()
	injected := errors.New("injected failure")
	err := s.db.Callback().Create().Before("gorm:create").Register("test:fail_"+table, func(db *gorm.DB) {
		if db.Statement.Table == table {
			db.AddError(injected)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return injected
}

func newDataset(name string, columns int) (*Dataset, [][]byte) {
	d := &Dataset{Name: name, RowCount: 3, CSV: CSVFormat{Delimiter: ";", Detected: true, DecimalSeparator: ","}}
	var data [][]byte
	for i := range columns {
		d.Columns = append(d.Columns, ColumnInfo{Name: fmt.Sprintf("c%d", i), Type: "NUMERIC", Missing: i})
		data = append(data, []byte(fmt.Sprintf("%s/column %d", name, i)))
	}
	return d, data
}

func createDataset(t testing.TB, s *Store, name string, columns int) (*Dataset, [][]byte) {
	t.Helper()
	d, data := newDataset(name, columns)
	if err := s.CreateDataset(context.Background(), d, data); err != nil {
		t.Fatal(err)
	}
	return d, data
}

func createModel(t testing.TB, s *Store, datasetID *int64) *Model {
	t.Helper()
	m := &Model{
		Name: "m", DatasetID: datasetID, Algorithm: "LINEAR_REGRESSION", Task: "REGRESSION",
		Target: "y", Features: []string{"a", "b"}, Params: map[string]any{"alpha": 0.5}, CSVDelimiter: "\t",
	}
	if err := s.CreateModel(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	return m
}

func countRows(t *testing.T, s *Store, table, where string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := s.db.Table(table).Where(where, args...).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// TestPragmasOnEveryConnection holds several pooled connections at once and
// checks that each has the settings from the DSN.
func TestPragmasOnEveryConnection(t *testing.T) {
	if testdb.Postgres() {
		t.Skip("SQLite only")
	}
	s, _ := openTestStore(t)
	ctx := context.Background()
	sqlDB, err := s.db.DB()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"journal_mode": "wal",
		"foreign_keys": "1",
		"busy_timeout": "10000",
		"synchronous":  "1", // NORMAL
		// From the connect hook rather than the DSN.
		"journal_size_limit": fmt.Sprint(walSizeLimit),
	}
	for i := range 4 {
		conn, err := sqlDB.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close() // keep it out of the pool, so the next is new
		for pragma, value := range want {
			var got string
			if err := conn.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != value {
				t.Errorf("connection %d: PRAGMA %s = %s, want %s", i, pragma, got, value)
			}
		}
	}
	if n := sqlDB.Stats().OpenConnections; n < 4 {
		t.Errorf("%d open connections, want at least 4", n)
	}
}

func TestOpenRejects(t *testing.T) {
	missingDir := filepath.Join(t.TempDir(), "missing", "mlgraph.db")
	for _, dsn := range []string{
		"", ":memory:", "a.db?mode=ro", missingDir,
		// Nothing listens on port 1; a bad URL.
		"postgres://mlgraph@127.0.0.1:1/mlgraph?connect_timeout=5", "postgresql://[::1/x",
	} {
		if s, err := Open(dsn); err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded, want an error", dsn)
		}
	}
}

// TestOpenErrorHidesPassword: the data source is in Open's errors, without
// a PostgreSQL password.
func TestOpenErrorHidesPassword(t *testing.T) {
	for _, dsn := range []string{
		"postgres://mlgraph:s3cret@127.0.0.1:1/mlgraph?connect_timeout=5",
		"postgres://mlgraph:s3cret@127.0.0.1:1/mlgraph?connect_timeout=x",
		"postgres://mlgraph:s3cret@[::1/mlgraph",
	} {
		_, err := Open(dsn)
		if err == nil || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("Open(%q) = %v, want an error without the password", dsn, err)
		}
	}
	if got := RedactDSN("postgres://u:s3cret@h/db?sslmode=disable"); got != "postgres://u:xxxxx@h/db?sslmode=disable" {
		t.Errorf("RedactDSN = %q", got)
	}
	if got := RedactDSN("/var/lib/mlgraph.db"); got != "/var/lib/mlgraph.db" {
		t.Errorf("RedactDSN(path) = %q", got)
	}
}

func TestPing(t *testing.T) {
	s, _ := openTestStore(t)
	if err := s.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestDataSurvivesReopen(t *testing.T) {
	s, path := openTestStore(t)
	ctx := context.Background()
	d, data := createDataset(t, s, "iris", 3)
	m := createModel(t, s, &d.ID)
	if err := s.CompleteModel(ctx, m, 2, []byte("state")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	gotD, err := s.GetDataset(ctx, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(gotD, d) {
		t.Errorf("dataset after reopen = %+v, want %+v", gotD, d)
	}
	gotData, err := s.LoadColumnData(ctx, d.ID, []int{0, 1, 2})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(gotData, data) {
		t.Errorf("column data after reopen = %q, want %q", gotData, data)
	}
	gotM, err := s.GetModel(ctx, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(gotM, m) {
		t.Errorf("model after reopen = %+v, want %+v", gotM, m)
	}
	if format, state, err := s.LoadModelState(ctx, m.ID); err != nil || format != 2 || string(state) != "state" {
		t.Errorf("LoadModelState after reopen = %d, %q, %v; want 2, \"state\", nil", format, state, err)
	}
}

// TestConcurrentWrites has several goroutines write at once: with the busy
// timeout and immediate transactions none may see "database is locked".
func TestConcurrentWrites(t *testing.T) {
	s, _ := openTestStore(t)
	ctx := context.Background()
	m := createModel(t, s, nil)
	const writers, writes = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, writers*writes)
	for w := range writers {
		wg.Go(func() {
			for i := range writes {
				var err error
				switch i % 3 {
				case 0:
					d, data := newDataset(fmt.Sprintf("w%d-%d", w, i), 4)
					err = s.CreateDataset(ctx, d, data)
				case 1:
					err = s.CreatePrediction(ctx, &Prediction{ModelID: m.ID, Inputs: []byte(`{"x":1}`), Outputs: []byte(`[2]`)})
				case 2:
					// A read between writes keeps reader/writer overlap going.
					_, err = s.ListDatasets(ctx, DatasetFilter{}, Page{First: 5})
				}
				if err != nil {
					errs <- fmt.Errorf("writer %d, write %d: %w", w, i, err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		return
	}
	wantDatasets, wantPredictions := int64(0), int64(0)
	for i := range writes {
		switch i % 3 {
		case 0:
			wantDatasets += writers
		case 1:
			wantPredictions += writers
		}
	}
	if n := countRows(t, s, "datasets", "1 = 1"); n != wantDatasets {
		t.Errorf("%d datasets, want %d", n, wantDatasets)
	}
	if n := countRows(t, s, "dataset_columns", "1 = 1"); n != 4*wantDatasets {
		t.Errorf("%d dataset columns, want %d", n, 4*wantDatasets)
	}
	if n := countRows(t, s, "predictions", "1 = 1"); n != wantPredictions {
		t.Errorf("%d predictions, want %d", n, wantPredictions)
	}
}

func TestTimesAreUTC(t *testing.T) {
	s, _ := openTestStore(t)
	before := time.Now().Add(-time.Second)
	d, _ := createDataset(t, s, "d", 1)
	if d.CreatedAt.Location() != time.UTC || d.CreatedAt.Before(before) {
		t.Errorf("CreatedAt = %v, want a UTC time after %v", d.CreatedAt, before)
	}
	// Read back too: pgx would return times in time.Local.
	got, err := s.GetDataset(context.Background(), d.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.CreatedAt.Location() != time.UTC || !got.CreatedAt.Equal(d.CreatedAt) {
		t.Errorf("CreatedAt read back = %v, want %v in UTC", got.CreatedAt, d.CreatedAt)
	}
}

// TestReadThenWriteTransactions runs transactions that read before they
// write, as an ownership check before an update will. With deferred
// transactions SQLite would fail one of two such concurrent transactions at
// once with "database is locked", whatever the busy timeout.
func TestReadThenWriteTransactions(t *testing.T) {
	s, _ := openTestStore(t)
	ctx := context.Background()
	const workers, transactions = 8, 10
	var wg sync.WaitGroup
	errs := make(chan error, workers*transactions)
	for range workers {
		wg.Go(func() {
			for range transactions {
				errs <- s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
					var n int64
					if err := tx.Model(&Dataset{}).Count(&n).Error; err != nil {
						return err
					}
					return tx.Create(&Dataset{Name: fmt.Sprint(n), Columns: []ColumnInfo{}}).Error
				})
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestCompleteModelReplacesState exercises the upsert (ON CONFLICT) of a
// model's state, as when a model trains again.
func TestCompleteModelReplacesState(t *testing.T) {
	s, _ := openTestStore(t)
	ctx := context.Background()
	m := createModel(t, s, nil)
	if err := s.CompleteModel(ctx, m, 1, []byte("first")); err != nil {
		t.Fatal(err)
	}
	if err := s.db.Table("models").Where("id = ?", m.ID).Update("status", StatusTraining).Error; err != nil {
		t.Fatal(err)
	}
	if err := s.CompleteModel(ctx, m, 2, []byte("second")); err != nil {
		t.Fatal(err)
	}
	if format, state, err := s.LoadModelState(ctx, m.ID); err != nil || format != 2 || string(state) != "second" {
		t.Errorf("LoadModelState = %d, %q, %v; want 2, \"second\", nil", format, state, err)
	}
	if n := countRows(t, s, "model_states", "model_id = ?", m.ID); n != 1 {
		t.Errorf("%d states stored, want 1", n)
	}
}
