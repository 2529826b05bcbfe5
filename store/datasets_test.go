package store

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"mlgraph/internal/apperr"
)

func TestDatasetCRUD(t *testing.T) {
	s, _ := openTestStore(t)
	ctx := context.Background()
	d, data := createDataset(t, s, "iris", 3)
	if d.ID == 0 || d.CreatedAt.IsZero() {
		t.Fatalf("CreateDataset left ID %d, CreatedAt %v", d.ID, d.CreatedAt)
	}

	got, err := s.GetDataset(ctx, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, d) {
		t.Errorf("GetDataset = %+v, want %+v", got, d)
	}

	// Any order, repeats allowed.
	columns, err := s.LoadColumnData(ctx, d.ID, []int{2, 0, 2})
	if err != nil {
		t.Fatal(err)
	}
	if want := [][]byte{data[2], data[0], data[2]}; !reflect.DeepEqual(columns, want) {
		t.Errorf("LoadColumnData = %q, want %q", columns, want)
	}
	if columns, err := s.LoadColumnData(ctx, d.ID, nil); err != nil || len(columns) != 0 {
		t.Errorf("LoadColumnData(no positions) = %q, %v; want none", columns, err)
	}

	// A column the dataset lacks is the caller's bug, not a missing dataset.
	_, err = s.LoadColumnData(ctx, d.ID, []int{0, 3})
	if err == nil || apperr.CodeOf(err) != "" {
		t.Errorf("LoadColumnData(position 3 of 3) = %v, want an internal error", err)
	}

	if err := s.DeleteDataset(ctx, d.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.GetDataset(ctx, d.ID)
	wantCode(t, err, apperr.NotFound)
	_, err = s.LoadColumnData(ctx, d.ID, []int{0})
	wantCode(t, err, apperr.NotFound)
	wantCode(t, s.DeleteDataset(ctx, d.ID), apperr.NotFound)
}

func TestCreateDatasetChecksColumnCount(t *testing.T) {
	s, _ := openTestStore(t)
	d, data := newDataset("d", 3)
	if err := s.CreateDataset(context.Background(), d, data[:2]); err == nil {
		t.Fatal("CreateDataset with 3 columns and 2 blobs succeeded")
	}
	if n := countRows(t, s, "datasets", "1 = 1"); n != 0 {
		t.Errorf("%d datasets stored, want 0", n)
	}
}

func TestCreateDatasetIsAtomic(t *testing.T) {
	s, _ := openTestStore(t)
	injected := failOn(t, s, "dataset_columns")
	d, data := newDataset("d", 3)
	err := s.CreateDataset(context.Background(), d, data)
	if !errors.Is(err, injected) {
		t.Fatalf("CreateDataset = %v, want the injected failure", err)
	}
	if d.ID != 0 || !d.CreatedAt.IsZero() {
		t.Errorf("failed CreateDataset left ID %d, CreatedAt %v", d.ID, d.CreatedAt)
	}
	if n := countRows(t, s, "datasets", "1 = 1"); n != 0 {
		t.Errorf("%d datasets stored, want 0", n)
	}
}

func TestEmptyColumnData(t *testing.T) {
	s, _ := openTestStore(t)
	ctx := context.Background()
	d := &Dataset{Name: "empty", Columns: []ColumnInfo{{Name: "a", Type: "NUMERIC"}}}
	if err := s.CreateDataset(ctx, d, [][]byte{nil}); err != nil {
		t.Fatal(err)
	}
	columns, err := s.LoadColumnData(ctx, d.ID, []int{0})
	if err != nil || len(columns) != 1 || len(columns[0]) != 0 {
		t.Errorf("LoadColumnData = %q, %v; want one empty column", columns, err)
	}
}

func TestDatasetsByIDs(t *testing.T) {
	s, _ := openTestStore(t)
	a, _ := createDataset(t, s, "a", 1)
	b, _ := createDataset(t, s, "b", 1)
	got, err := s.DatasetsByIDs(context.Background(), []int64{b.ID, 999, a.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[a.ID].Name != "a" || got[b.ID].Name != "b" {
		t.Errorf("DatasetsByIDs = %v, want a and b", got)
	}
}

// TestDeleteDatasetCascades checks the foreign keys: a dataset takes its
// column data with it but leaves its models, without a dataset.
func TestDeleteDatasetCascades(t *testing.T) {
	s, _ := openTestStore(t)
	ctx := context.Background()
	d, _ := createDataset(t, s, "d", 3)
	other, _ := createDataset(t, s, "other", 2)
	m := createModel(t, s, &d.ID)

	if err := s.DeleteDataset(ctx, d.ID); err != nil {
		t.Fatal(err)
	}
	if n := countRows(t, s, "dataset_columns", "dataset_id = ?", d.ID); n != 0 {
		t.Errorf("%d column rows left of the deleted dataset, want 0", n)
	}
	if n := countRows(t, s, "dataset_columns", "dataset_id = ?", other.ID); n != 2 {
		t.Errorf("%d column rows left of the other dataset, want 2", n)
	}
	got, err := s.GetModel(ctx, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.DatasetID != nil {
		t.Errorf("model's dataset is %d after deleting it, want nil", *got.DatasetID)
	}
}

// TestCreateDatasetFromDescribe: what describe fills in once the column
// data is in is stored with it, and its failure stores nothing.
func TestCreateDatasetFromDescribe(t *testing.T) {
	s, _ := openTestStore(t)
	ctx := context.Background()
	d, data := newDataset("d", 2)
	d.Columns[0].Missing, d.Columns[1].Missing = 0, 0
	stored := 0
	columnData := func(position int) ([]byte, error) {
		stored++
		return data[position], nil
	}
	mean := 2.5
	err := s.CreateDatasetFrom(ctx, d, columnData, func() error {
		if stored != 2 {
			t.Errorf("describe called after %d columns, want 2", stored)
		}
		d.Columns[1].Missing, d.Columns[1].Mean = 7, &mean
		d.Preview = []byte(`[{"c0":1,"c1":null}]`)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.GetDataset(ctx, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, d) || got.Columns[1].Missing != 7 || *got.Columns[1].Mean != mean {
		t.Errorf("GetDataset = %+v, want %+v", got, d)
	}

	injected := errors.New("no summary")
	d2, data2 := newDataset("d2", 2)
	err = s.CreateDatasetFrom(ctx, d2, func(i int) ([]byte, error) { return data2[i], nil }, func() error { return injected })
	if !errors.Is(err, injected) || d2.ID != 0 {
		t.Errorf("CreateDatasetFrom = %v (id %d), want the describe failure", err, d2.ID)
	}
	d3, data3 := newDataset("d3", 2)
	err = s.CreateDatasetFrom(ctx, d3, func(i int) ([]byte, error) { return data3[i], nil }, func() error {
		d3.Columns = d3.Columns[:1]
		return nil
	})
	if err == nil {
		t.Error("describe dropped a column, and CreateDatasetFrom succeeded")
	}
	if n := countRows(t, s, "datasets", "1 = 1"); n != 1 {
		t.Errorf("%d datasets stored, want 1", n)
	}
	if n := countRows(t, s, "dataset_columns", "1 = 1"); n != 2 {
		t.Errorf("%d column rows stored, want 2", n)
	}
}

// TestMigrateSetsCSVFormatOfOldDatasets: opening a database from before
// datasets recorded how their CSV was written gives its tables commas and
// decimal points, and its media datasets no CSV; datasets stored after
// keep what they recorded, however often the database is opened.
func TestMigrateSetsCSVFormatOfOldDatasets(t *testing.T) {
	s, dsn := openTestStore(t)
	ctx := context.Background()
	old, _ := createDataset(t, s, "old table", 1)
	media, data := newDataset("old media", 1)
	media.Media = json.RawMessage(`{"kind":"IMAGE"}`)
	if err := s.CreateDataset(ctx, media, data); err != nil {
		t.Fatal(err)
	}
	for _, column := range []string{"csv_delimiter", "csv_detected", "csv_decimal_separator"} {
		if err := s.db.Migrator().DropColumn(&Dataset{}, column); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	var newer *Dataset
	want := map[string]CSVFormat{old.Name: {Delimiter: ",", DecimalSeparator: "."}, media.Name: {}}
	for open := range 2 {
		s, err := Open(dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		if open == 0 {
			newer, _ = createDataset(t, s, "new", 1)
			want[newer.Name] = newer.CSV
			scored, data := newDataset("new, no CSV", 1) // as a prediction of a media dataset
			scored.CSV = CSVFormat{}
			if err := s.CreateDataset(ctx, scored, data); err != nil {
				t.Fatal(err)
			}
			want[scored.Name] = CSVFormat{}
		}
		page, err := s.ListDatasets(ctx, DatasetFilter{}, Page{First: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Items) != len(want) {
			t.Fatalf("open %d: %d datasets, want %d", open, len(page.Items), len(want))
		}
		for _, d := range page.Items {
			if d.CSV != want[d.Name] {
				t.Errorf("open %d: dataset %q has CSV %+v, want %+v", open, d.Name, d.CSV, want[d.Name])
			}
		}
		s.Close()
	}
}
