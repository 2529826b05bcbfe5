package service

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"sync"

	"mlgraph/internal/apperr"
	"mlgraph/internal/csvdata"
	"mlgraph/ml"
	"mlgraph/store"
)

// maxNameLength bounds dataset and model names.
const maxNameLength = 200

// CSVOptions say how to read a dataset's CSV.
type CSVOptions struct {
	// Delimiter separates the fields; csvdata.Detect (zero) to detect it.
	Delimiter csvdata.Delimiter
	// Types, if not empty, sets the type of the columns it names instead
	// of the inferred one.
	Types map[string]ml.ColumnType
}

// CreateDataset parses CSV text and stores it as a dataset: metadata plus
// one compact blob per column, in one transaction.
func (s *Service) CreateDataset(ctx context.Context, name, csvText string, opts CSVOptions) (*store.Dataset, error) {
	name, err := checkName("name", name)
	if err != nil {
		return nil, err
	}
	cols, format, err := csvdata.Parse(csvText, opts.Delimiter)
	if err != nil {
		return nil, err
	}
	return s.saveCSVDataset(ctx, name, cols, format, opts.Types)
}

// UploadDataset is CreateDataset for a CSV file of size bytes, streamed
// from r (read twice if some column is categorical) rather than held as
// text.
func (s *Service) UploadDataset(ctx context.Context, name string, r io.ReadSeeker, size int64, opts CSVOptions) (*store.Dataset, error) {
	name, err := checkName("name", name)
	if err != nil {
		return nil, err
	}
	cols, format, err := csvdata.ParseReader(r, size, opts.Delimiter)
	if err != nil {
		return nil, err
	}
	return s.saveCSVDataset(ctx, name, cols, format, opts.Types)
}

// saveCSVDataset stores the columns parsed from a CSV written as format
// says, converted to types.
func (s *Service) saveCSVDataset(ctx context.Context, name string, cols []*ml.Column, format csvdata.Format, types map[string]ml.ColumnType) (*store.Dataset, error) {
	cols, err := setColumnTypes(cols, types)
	if err != nil {
		return nil, err
	}
	csv := store.CSVFormat{Delimiter: string(rune(format.Delimiter)), Detected: format.Detected, DecimalSeparator: format.DecimalSeparator()}
	return s.saveDataset(ctx, &store.Dataset{Name: name, CSV: csv}, cols)
}

// CSVFormat is how the CSV a dataset was read from is written; nil for a
// dataset made from media files.
func CSVFormat(d *store.Dataset) (*csvdata.Format, error) {
	if d.CSV.Delimiter == "" {
		return nil, nil
	}
	delimiter, ok := csvdata.ParseDelimiter(d.CSV.Delimiter)
	if !ok {
		return nil, fmt.Errorf("dataset %d: unknown CSV delimiter %q", d.ID, d.CSV.Delimiter)
	}
	return &csvdata.Format{Delimiter: delimiter, Detected: d.CSV.Detected, DecimalComma: d.CSV.DecimalSeparator == ","}, nil
}

// setColumnTypes converts the columns that types names to their type.
func setColumnTypes(cols []*ml.Column, types map[string]ml.ColumnType) ([]*ml.Column, error) {
	left := len(types)
	for i, c := range cols {
		t, ok := types[c.Name]
		if !ok {
			continue
		}
		left--
		converted, err := c.As(t)
		if err != nil {
			return nil, badInput(err)
		}
		cols[i] = converted
	}
	if left > 0 {
		for name := range types {
			if !slices.ContainsFunc(cols, func(c *ml.Column) bool { return c.Name == name }) {
				return nil, apperr.BadInputf("columnTypes: no column %q in the CSV header", name)
			}
		}
	}
	return cols, nil
}

// Dataset summaries keep this many top categories and preview rows.
const (
	topCategories  = 10
	MaxPreviewRows = 100
)

// saveDataset stores parsed columns as dataset d, of which the caller set
// the name and what the rows were read from (CSV or Media), with their
// summaries and a preview.
func (s *Service) saveDataset(ctx context.Context, d *store.Dataset, cols []*ml.Column) (*store.Dataset, error) {
	name := d.Name
	d.RowCount, d.Columns = cols[0].Len(), make([]store.ColumnInfo, len(cols))
	for i, c := range cols {
		d.Columns[i] = store.ColumnInfo{Name: c.Name, Type: string(c.Type)}
	}
	// The summaries and the preview are made while the columns are stored,
	// which is mostly the database's work on one core: the store asks for
	// them (describe) once the data is in, in the same transaction.
	var (
		described sync.WaitGroup
		infos     []store.ColumnInfo
		preview   json.RawMessage
		err       error
	)
	described.Go(func() { infos, preview, err = describeColumns(cols) })
	describe := func() error {
		described.Wait()
		if err != nil {
			return err
		}
		d.Columns, d.Preview = infos, preview
		return nil
	}
	// Each column is encoded as it is stored, into one buffer reused for
	// every column (the store is done with a column's bytes before it asks
	// for the next): the bytes and the parsed columns are never all in
	// memory at once, and an import makes no garbage for the collector to
	// chase.
	var buf []byte
	encode := func(i int) ([]byte, error) {
		var err error
		if buf, err = cols[i].AppendBinary(buf[:0]); err != nil {
			return nil, fmt.Errorf("encode column %q: %w", cols[i].Name, err)
		}
		return buf, nil
	}
	storeErr := s.store.CreateDatasetFrom(ctx, d, encode, describe)
	described.Wait() // in case the store failed before it asked
	if storeErr != nil {
		return nil, fmt.Errorf("create dataset %q: %w", name, storeErr)
	}
	return d, nil
}

// describeColumns summarises the columns, on all cores but one (left to
// the store), and encodes a preview of their first rows.
func describeColumns(cols []*ml.Column) ([]store.ColumnInfo, json.RawMessage, error) {
	infos := make([]store.ColumnInfo, len(cols))
	wait := inParallel(len(cols), runtime.GOMAXPROCS(0)-1, func(i int) { infos[i] = columnInfo(cols[i]) })
	preview, err := previewRows(cols, MaxPreviewRows)
	wait()
	return infos, preview, err
}

// columnInfo describes a column, with its summary.
func columnInfo(c *ml.Column) store.ColumnInfo {
	sum := c.Summary(topCategories)
	info := store.ColumnInfo{Name: c.Name, Type: string(c.Type), Missing: sum.Missing, Distinct: sum.Distinct,
		Mean: sum.Mean, Std: sum.Std, Min: sum.Min, Max: sum.Max}
	for _, tc := range sum.TopCategories {
		info.TopCategories = append(info.TopCategories, store.CategoryCount{Value: tc.Value, Count: tc.Count})
	}
	return info
}

// previewRows encodes the first n rows (see recordsJSON).
func previewRows(cols []*ml.Column, n int) (json.RawMessage, error) {
	rows := make([]int, min(n, cols[0].Len()))
	for i := range rows {
		rows[i] = i
	}
	return recordsJSON(cols, rows)
}

// records returns rows of cols (every row for nil) as objects of column
// name to value: a number, a string, or nil when missing.
func records(cols []*ml.Column, rows []int) []any {
	if rows == nil && len(cols) > 0 {
		rows = make([]int, cols[0].Len())
		for i := range rows {
			rows[i] = i
		}
	}
	out := make([]any, len(rows))
	for a, i := range rows {
		record := make(map[string]any, len(cols))
		for _, c := range cols {
			switch {
			case c.IsMissing(i):
				record[c.Name] = nil
			case c.Type == ml.Numeric:
				record[c.Name] = c.Num[i]
			default:
				record[c.Name] = c.Text(i)
			}
		}
		out[a] = record
	}
	return out
}

// recordsJSON encodes rows of cols as JSON records (see records).
func recordsJSON(cols []*ml.Column, rows []int) (json.RawMessage, error) {
	b, err := json.Marshal(records(cols, rows))
	if err != nil {
		return nil, fmt.Errorf("encode records: %w", err)
	}
	return b, nil
}

// Preview returns a dataset's first rows (at most MaxPreviewRows).
func Preview(d *store.Dataset, first int) ([]any, error) {
	if first < 0 {
		return nil, apperr.BadInputf("first must not be negative, got %d", first)
	}
	var rows []any
	if len(d.Preview) > 0 {
		if err := json.Unmarshal(d.Preview, &rows); err != nil {
			return nil, fmt.Errorf("decode preview of dataset %d: %w", d.ID, err)
		}
	}
	return rows[:min(first, len(rows))], nil
}

// Dataset returns a dataset's metadata.
func (s *Service) Dataset(ctx context.Context, id string) (*store.Dataset, error) {
	n, err := ParseID("dataset", id)
	if err != nil {
		return nil, err
	}
	return s.store.GetDataset(ctx, n)
}

// DatasetByID is Dataset for an id already parsed.
func (s *Service) DatasetByID(ctx context.Context, id int64) (*store.Dataset, error) {
	return s.store.GetDataset(ctx, id)
}

// Datasets lists datasets, newest first.
func (s *Service) Datasets(ctx context.Context, f store.DatasetFilter, p store.Page) (*store.DatasetPage, error) {
	return s.store.ListDatasets(ctx, f, p)
}

// DeleteDataset deletes a dataset and its data; models trained on it stay.
func (s *Service) DeleteDataset(ctx context.Context, id string) (int64, error) {
	n, err := ParseID("dataset", id)
	if err != nil {
		return 0, err
	}
	if err := s.store.DeleteDataset(ctx, n); err != nil {
		return 0, err
	}
	return n, nil
}

// loadColumns reads the named columns of a dataset and decodes them, in
// the order asked.
func (s *Service) loadColumns(ctx context.Context, d *store.Dataset, names []string) ([]*ml.Column, error) {
	positions := make([]int, len(names))
	for i, name := range names {
		pos := columnIndex(d, name)
		if pos < 0 {
			return nil, fmt.Errorf("dataset %d has no column %q", d.ID, name)
		}
		positions[i] = pos
	}
	blobs, err := s.store.LoadColumnData(ctx, d.ID, positions)
	if err != nil {
		return nil, fmt.Errorf("load columns of dataset %d: %w", d.ID, err)
	}
	cols := make([]*ml.Column, len(names))
	for i, b := range blobs {
		c := &ml.Column{Name: names[i]}
		if err := c.UnmarshalBinary(b); err != nil {
			return nil, fmt.Errorf("decode column %q of dataset %d: %w", names[i], d.ID, err)
		}
		cols[i] = c
	}
	return cols, nil
}

func columnIndex(d *store.Dataset, name string) int {
	for i, c := range d.Columns {
		if c.Name == name {
			return i
		}
	}
	return -1
}

func columnNames(d *store.Dataset) []string {
	names := make([]string, len(d.Columns))
	for i, c := range d.Columns {
		names[i] = c.Name
	}
	return names
}

// checkName trims a user-given name and checks its length.
func checkName(field, name string) (string, error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return "", apperr.BadInputf("%s must not be empty", field)
	case len([]rune(name)) > maxNameLength:
		return "", apperr.BadInputf("%s is longer than %d characters", field, maxNameLength)
	}
	return name, nil
}

// DatasetsByIDs returns the datasets that exist among ids, by id, in one
// query (for batched loading).
func (s *Service) DatasetsByIDs(ctx context.Context, ids []int64) (map[int64]*store.Dataset, error) {
	return s.store.DatasetsByIDs(ctx, ids)
}

// CountModelsByDataset counts the models of each dataset in one query (for
// batched loading).
func (s *Service) CountModelsByDataset(ctx context.Context, ids []int64) (map[int64]int64, error) {
	return s.store.CountModelsByDataset(ctx, ids)
}
