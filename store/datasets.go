package store

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"mlgraph/internal/apperr"
)

// CreateDataset stores d and its column data in one transaction: either
// all of it is stored or none. columnData[i] is column i's data, already
// encoded; it must have one entry per d.Columns. It fills in d.ID and
// d.CreatedAt.
func (s *Store) CreateDataset(ctx context.Context, d *Dataset, columnData [][]byte) error {
	if len(columnData) != len(d.Columns) {
		return fmt.Errorf("create dataset %q: %d columns described but %d given", d.Name, len(d.Columns), len(columnData))
	}
	return s.CreateDatasetFrom(ctx, d, func(position int) ([]byte, error) { return columnData[position], nil }, nil)
}

// CreateDatasetFrom is CreateDataset with each column's bytes made on
// demand by columnData, one column at a time, so that a large dataset is
// never held twice (as columns and as bytes) while it is stored. A
// column's bytes are not used after the next call of columnData, which may
// reuse their memory.
//
// If describe is not nil, it is called once the column data is stored,
// still within the transaction, and may change d's Columns (not their
// number or order) and Preview, which are then stored as they are: so a
// caller can work out a dataset's summaries while its data is stored. An
// error from describe rolls everything back, as any other.
func (s *Store) CreateDatasetFrom(ctx context.Context, d *Dataset, columnData func(position int) ([]byte, error), describe func() error) error {
	// On failure the rolled-back insert must not leave an id behind.
	id, createdAt, project := d.ID, d.CreatedAt, d.Project
	d.Project = projectForNew(ctx)
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(d).Error; err != nil {
			return err
		}
		// One INSERT per column: a multi-row INSERT would bind every blob
		// of the dataset at once.
		for position := range d.Columns {
			data, err := columnData(position)
			if err != nil {
				return fmt.Errorf("column %d: %w", position, err)
			}
			if data == nil {
				data = []byte{} // not NULL: an empty column is still a column
			}
			column := &datasetColumn{DatasetID: d.ID, Position: position, Data: data}
			if err := tx.Omit(clause.Associations).Create(column).Error; err != nil {
				return fmt.Errorf("column %d: %w", position, err)
			}
		}
		if describe == nil {
			return nil
		}
		columns := len(d.Columns)
		if err := describe(); err != nil {
			return err
		}
		if len(d.Columns) != columns {
			return fmt.Errorf("describe changed the number of columns from %d to %d", columns, len(d.Columns))
		}
		return tx.Model(d).Select("Columns", "Preview").Updates(d).Error
	})
	if err != nil {
		d.ID, d.CreatedAt, d.Project = id, createdAt, project
		if err := textError(err); apperr.CodeOf(err) != "" {
			return err
		}
		return fmt.Errorf("create dataset %q: %w", d.Name, err)
	}
	s.checkpointSoon() // the WAL now holds the whole dataset
	return nil
}

// GetDataset returns the dataset with the given id, without column data.
func (s *Store) GetDataset(ctx context.Context, id int64) (*Dataset, error) {
	var d Dataset
	if err := s.scoped(ctx).Take(&d, id).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return nil, apperr.NotFoundf("dataset", id)
		}
		return nil, fmt.Errorf("get dataset %d: %w", id, err)
	}
	return &d, nil
}

// DatasetsByIDs returns the datasets with the given ids that exist, by id
// (for batched loading).
func (s *Store) DatasetsByIDs(ctx context.Context, ids []int64) (map[int64]*Dataset, error) {
	found := make(map[int64]*Dataset, len(ids))
	if len(ids) == 0 {
		return found, nil
	}
	var datasets []*Dataset
	if err := s.scoped(ctx).Where("id IN ?", ids).Find(&datasets).Error; err != nil {
		return nil, fmt.Errorf("get %d datasets: %w", len(ids), err)
	}
	for _, d := range datasets {
		found[d.ID] = d
	}
	return found, nil
}

// LoadColumnData returns the data of the dataset's columns at the given
// positions, in the order asked.
func (s *Store) LoadColumnData(ctx context.Context, datasetID int64, positions []int) ([][]byte, error) {
	if len(positions) == 0 {
		return [][]byte{}, nil
	}
	rows, err := s.db.WithContext(ctx).Model(&datasetColumn{}).
		Select("position", "data").
		Where("dataset_id = ? AND position IN ?", datasetID, positions).
		Rows()
	if err != nil {
		return nil, fmt.Errorf("load columns of dataset %d: %w", datasetID, err)
	}
	defer rows.Close()
	byPosition := make(map[int][]byte, len(positions))
	for rows.Next() {
		var position int
		var data []byte
		if err := rows.Scan(&position, &data); err != nil {
			return nil, fmt.Errorf("load columns of dataset %d: %w", datasetID, err)
		}
		byPosition[position] = data
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load columns of dataset %d: %w", datasetID, err)
	}

	columns := make([][]byte, len(positions))
	for i, position := range positions {
		data, ok := byPosition[position]
		if !ok {
			return nil, s.missingColumn(ctx, datasetID, position)
		}
		columns[i] = data
	}
	return columns, nil
}

// missingColumn explains why the dataset has no column at position: it was
// deleted (NOT_FOUND), or the caller asked for a column it does not have.
func (s *Store) missingColumn(ctx context.Context, datasetID int64, position int) error {
	if _, err := s.GetDataset(ctx, datasetID); err != nil {
		return err
	}
	return fmt.Errorf("load columns of dataset %d: no column at position %d", datasetID, position)
}

// ListDatasets returns a page of datasets, newest first.
func (s *Store) ListDatasets(ctx context.Context, f DatasetFilter, p Page) (*DatasetPage, error) {
	filter := func(q *gorm.DB) *gorm.DB { return f.apply(inProject(ctx)(q)) }
	page, err := listPage(ctx, s.db, p, filter, func(d *Dataset) int64 { return d.ID }, datasetSortKeys)
	if err != nil {
		return nil, fmt.Errorf("list datasets: %w", err)
	}
	return page, nil
}

// DatasetFilter selects datasets; zero fields select all.
type DatasetFilter struct {
	// NameContains selects names containing it, ignoring case.
	NameContains string
}

func (f DatasetFilter) apply(q *gorm.DB) *gorm.DB {
	if f.NameContains != "" {
		q = q.Where(`LOWER(name) LIKE ? ESCAPE '\'`, containsPattern(f.NameContains))
	}
	return q
}

// datasetSortKeys are the orders ListDatasets offers besides creation.
var datasetSortKeys = map[string]sortKey[Dataset]{
	"NAME":      {expr: "name", value: func(d *Dataset) any { return d.Name }},
	"ROW_COUNT": {expr: "row_count", value: func(d *Dataset) any { return d.RowCount }},
}

// DeleteDataset deletes the dataset and its column data. Models trained on
// it remain, with no dataset.
func (s *Store) DeleteDataset(ctx context.Context, id int64) error {
	result := s.scoped(ctx).Delete(&Dataset{}, id)
	if result.Error != nil {
		return fmt.Errorf("delete dataset %d: %w", id, result.Error)
	}
	if result.RowsAffected == 0 {
		return apperr.NotFoundf("dataset", id)
	}
	return nil
}
