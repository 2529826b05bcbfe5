package store

import (
	"context"
	"math/rand/v2"
	"os"
	"testing"

	"mlgraph/internal/testdb"
)

const (
	benchColumns = 20
	benchRows    = 1_000_000
)

// benchDataset returns a dataset of benchColumns columns of benchRows
// float64s each, as random bytes (SQLite does not compress, so random
// bytes cost what real ones would).
func benchDataset() (*Dataset, [][]byte) {
	rng := rand.NewChaCha8([32]byte{1})
	d := &Dataset{Name: "bench", RowCount: benchRows}
	data := make([][]byte, benchColumns)
	for i := range data {
		d.Columns = append(d.Columns, ColumnInfo{Name: "c", Type: "NUMERIC"})
		data[i] = make([]byte, 8*benchRows)
		rng.Read(data[i])
	}
	return d, data
}

func fileSize(b *testing.B, path string) int64 {
	info, err := os.Stat(path)
	if os.IsNotExist(err) {
		return 0
	}
	if err != nil {
		b.Fatal(err)
	}
	return info.Size()
}

// BenchmarkCreateDataset stores 20 columns × 1,000,000 float64s (160 MB)
// per op and reports the database's size per dataset once closed.
func BenchmarkCreateDataset(b *testing.B) {
	s, path := openTestStore(b)
	ctx := context.Background()
	d, data := benchDataset()
	b.SetBytes(benchColumns * benchRows * 8)
	b.ResetTimer()
	for b.Loop() {
		d.ID = 0
		if err := s.CreateDataset(ctx, d, data); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if testdb.Postgres() {
		return // the figures below are of SQLite's files
	}
	// The WAL grew to hold the dataset; the next write cuts it back.
	peakWAL := fileSize(b, path+"-wal")
	small, smallData := newDataset("small", 1)
	if err := s.CreateDataset(ctx, small, smallData); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(peakWAL), "peak-wal-bytes")
	b.ReportMetric(float64(fileSize(b, path+"-wal")), "wal-bytes")
	// Closing the last connection checkpoints the WAL into the file.
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(fileSize(b, path))/float64(b.N), "disk-bytes/op")
}

// BenchmarkLoadColumnData reads back all 20 columns of such a dataset.
func BenchmarkLoadColumnData(b *testing.B) {
	s, _ := openTestStore(b)
	ctx := context.Background()
	d, data := benchDataset()
	if err := s.CreateDataset(ctx, d, data); err != nil {
		b.Fatal(err)
	}
	positions := make([]int, benchColumns)
	for i := range positions {
		positions[i] = i
	}
	b.SetBytes(benchColumns * benchRows * 8)
	b.ResetTimer()
	for b.Loop() {
		columns, err := s.LoadColumnData(ctx, d.ID, positions)
		if err != nil {
			b.Fatal(err)
		}
		if len(columns[benchColumns-1]) != 8*benchRows {
			b.Fatalf("column of %d bytes, want %d", len(columns[benchColumns-1]), 8*benchRows)
		}
	}
}
