package store

import (
	"encoding/json"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Dataset describes a stored dataset. Its column data is stored apart, one
// blob per column (see CreateDataset and LoadColumnData).
type Dataset struct {
	ID   int64  `gorm:"primaryKey"`
	Name string `gorm:"not null"`
	// Project owns the dataset (see WithProject); set by the store.
	Project  string `gorm:"not null;default:default;index"`
	RowCount int    `gorm:"not null"`
	// Columns describes the columns in order; a column's index here is its
	// position for LoadColumnData.
	Columns []ColumnInfo `gorm:"serializer:json;not null"`
	// Preview holds the first rows as JSON objects of column name to value,
	// so that browsing a dataset reads no column data.
	Preview json.RawMessage `gorm:"serializer:json"`
	// Media, for a dataset made from images or recordings, says how the
	// files became feature rows (the service's JSON); nil for tables.
	Media     json.RawMessage `gorm:"serializer:json"`
	CreatedAt time.Time       `gorm:"not null"`
	// CSV says how the CSV the rows were read from is written; zero for
	// a dataset made from media files.
	CSV CSVFormat `gorm:"embedded;embeddedPrefix:csv_"`
}

// CSVFormat is how a CSV is written (see csvdata.Format).
type CSVFormat struct {
	// Delimiter is the character between fields: "," ";" "\t" or "|";
	// empty for no CSV.
	Delimiter string
	// Detected is set if the delimiter was detected rather than given.
	Detected bool
	// DecimalSeparator is "." or ",".
	DecimalSeparator string
}

// csvDelimiterColumn is the column of Dataset.CSV.Delimiter. Datasets
// stored before it was added are tables read with commas (see
// migrateTables).
const csvDelimiterColumn = "csv_delimiter"

// ColumnInfo describes one column of a dataset.
type ColumnInfo struct {
	Name string `json:"name"`
	// Type is the column type as the ml package names it (NUMERIC, ...).
	Type    string `json:"type"`
	Missing int    `json:"missing"`
	// Summary statistics (see ml.Column.Summary).
	Distinct      int             `json:"distinct"`
	Mean          *float64        `json:"mean,omitempty"`
	Std           *float64        `json:"std,omitempty"`
	Min           *float64        `json:"min,omitempty"`
	Max           *float64        `json:"max,omitempty"`
	TopCategories []CategoryCount `json:"topCategories,omitempty"`
}

// CategoryCount is how often a categorical column holds a value.
type CategoryCount struct {
	Value string `json:"value"`
	Count int    `json:"count"`
}

// Model statuses. A model is created QUEUED (or TRAINING), trains, and
// ends READY, FAILED or CANCELLED.
const (
	StatusQueued    = "QUEUED"
	StatusTraining  = "TRAINING"
	StatusReady     = "READY"
	StatusFailed    = "FAILED"
	StatusCancelled = "CANCELLED"
)

// unfinishedStatuses are those a model may leave by completing, failing or
// being cancelled.
var unfinishedStatuses = []string{StatusQueued, StatusTraining}

// Model is a trained (or training, or failed) model. Its fitted state is
// stored apart (see CompleteModel and LoadModelState).
type Model struct {
	ID   int64  `gorm:"primaryKey"`
	Name string `gorm:"not null"`
	// Project owns the model (see WithProject); set by the store.
	Project string `gorm:"not null;default:default;index"`
	// DatasetID is the dataset the model was trained on; nil once that
	// dataset is deleted, as a model outlives its dataset.
	DatasetID *int64 `gorm:"index"`
	Algorithm string `gorm:"not null"`
	Task      string `gorm:"not null"`
	Status    string `gorm:"not null;index"`
	// Error is why training failed (status FAILED), else empty.
	Error    string   `gorm:"not null"`
	Target   string   `gorm:"not null"`
	Features []string `gorm:"serializer:json"`
	Classes  []string `gorm:"serializer:json"`
	// Params and Split round-trip through JSON: numbers come back float64.
	Params map[string]any `gorm:"serializer:json"`
	// Text is how TEXT features become features (the ml package's JSON),
	// nil when the model has none; Media is its dataset's Media, kept so
	// that files can be predicted after the dataset is deleted.
	Text            json.RawMessage `gorm:"serializer:json"`
	Media           json.RawMessage `gorm:"serializer:json"`
	Split           map[string]any  `gorm:"serializer:json"`
	Metrics         json.RawMessage `gorm:"serializer:json"`
	TrainingMetrics json.RawMessage `gorm:"serializer:json"`
	// Reports made while training, as JSON: per-feature importance,
	// k-fold cross-validation, and the trials of a hyperparameter search.
	FeatureImportance json.RawMessage `gorm:"serializer:json"`
	CrossValidation   json.RawMessage `gorm:"serializer:json"`
	Tuning            json.RawMessage `gorm:"serializer:json"`
	CreatedAt         time.Time       `gorm:"not null"`
	TrainedAt         *time.Time
	TrainingTimeMs    *int64
	// PredictionMicrosPerRow is the time the model took to predict its
	// test rows, per row.
	PredictionMicrosPerRow *float64
	// Report holds what the model's report plots (test predictions, ROC
	// curves, learning curves), as JSON.
	Report json.RawMessage `gorm:"serializer:json"`
	// Background is a sample of training rows (JSON records of feature to
	// value) that explanations of predictions compare against.
	Background json.RawMessage `gorm:"serializer:json"`
	// Request is what a queued model needs to train (the service's JSON),
	// kept so that a restart can resume it.
	Request json.RawMessage `gorm:"serializer:json"`
	// CSVDelimiter is its dataset's CSV.Delimiter, which predict prefers
	// for csv rows that read as well with another; empty for commas.
	CSVDelimiter string
}

// Prediction records one prediction request and its answer.
type Prediction struct {
	ID        int64           `gorm:"primaryKey"`
	ModelID   int64           `gorm:"not null;index"`
	Inputs    json.RawMessage `gorm:"serializer:json"`
	Outputs   json.RawMessage `gorm:"serializer:json"`
	CreatedAt time.Time       `gorm:"not null"`
}

// The types below exist only to declare the schema to AutoMigrate: GORM
// creates a foreign key from an association field, and such fields have no
// business in the records above, which callers see. Each embeds its record,
// so the table's columns are the record's.

// datasetColumn is one column's encoded data.
type datasetColumn struct {
	DatasetID int64    `gorm:"primaryKey;autoIncrement:false"`
	Position  int      `gorm:"primaryKey;autoIncrement:false"`
	Data      []byte   `gorm:"not null"`
	Dataset   *Dataset `gorm:"constraint:OnDelete:CASCADE"`
}

// modelState is a model's fitted state in the ml package's encoding.
type modelState struct {
	ModelID int64 `gorm:"primaryKey;autoIncrement:false"`
	// Format is the version of the encoding of Data.
	Format int    `gorm:"not null"`
	Data   []byte `gorm:"not null"`
	Model  *Model `gorm:"constraint:OnDelete:CASCADE"`
}

type modelTable struct {
	Model
	// InstanceID is the Store.instance that created the model, nil for
	// models stored before there was one (see FailInterruptedModels). It is
	// bookkeeping of the store's, so it is not in Model.
	InstanceID *int64
	Dataset    *Dataset `gorm:"foreignKey:DatasetID;constraint:OnDelete:SET NULL"`
}

func (modelTable) TableName() string { return "models" }

type predictionTable struct {
	Prediction
	Model *Model `gorm:"foreignKey:ModelID;constraint:OnDelete:CASCADE"`
}

func (predictionTable) TableName() string { return "predictions" }

// migrate creates or updates the tables. SQLite cannot add a foreign key to
// an existing table, so the constraints come with CREATE TABLE.
func (s *Store) migrate() error {
	if !s.postgres {
		return migrateTables(s.db)
	}
	// Instances starting together would race to create the same tables.
	// PostgreSQL's DDL is transactional: under a lock held to the commit,
	// one instance migrates and the next sees the result.
	return s.db.Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec("SELECT pg_advisory_xact_lock(?)", migrationLockKey).Error; err != nil {
			return fmt.Errorf("lock for migration: %w", err)
		}
		return migrateTables(tx)
	})
}

// migrateTables creates or updates the tables, and fills in what columns
// added to existing tables hold for existing rows.
func migrateTables(db *gorm.DB) error {
	tables := []any{&Dataset{}, &datasetColumn{}, &modelTable{}, &modelState{}, &predictionTable{}, &APIKey{}, &setting{}}
	m := db.Migrator()
	addsCSV := m.HasTable(&Dataset{}) && !m.HasColumn(&Dataset{}, csvDelimiterColumn)
	if err := db.AutoMigrate(tables...); err != nil {
		return err
	}
	if addsCSV {
		// Until then every dataset but those of media files was read
		// with commas and decimal points.
		err := db.Model(&Dataset{}).Where("media IS NULL").
			Updates(map[string]any{csvDelimiterColumn: ",", "csv_detected": false, "csv_decimal_separator": "."}).Error
		if err != nil {
			return fmt.Errorf("set the CSV format of existing datasets: %w", err)
		}
	}
	return nil
}
