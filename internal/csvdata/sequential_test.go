package csvdata

import (
	"errors"
	"io"

	"mlgraph/internal/apperr"
	"mlgraph/ml"
)

// parseSequential is the parser as it was before it read chunks in
// parallel, kept as the reference the parallel one must match: it parses
// the CSV that each call of open reads from the start, in one goroutine,
// with the records that newRecords reads (a second pass calls it again).
func parseSequential(open func() io.Reader, size sizeHint, newRecords func(io.Reader) records) ([]*ml.Column, error) {
	r := newRecords(open())
	columns, err := readHeader(r, Comma)
	if err != nil {
		return nil, err
	}
	headerBytes := r.InputOffset()

	rows := 0
	for {
		record, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, csvError(err)
		}
		if len(record) != len(columns) {
			return nil, apperr.BadInputf("line %d: expected %d fields as in the header, found %d", r.Line(), len(columns), len(record))
		}
		for i, c := range columns {
			c.add(rows, record[i])
		}
		rows++
		if rows == sampleRows {
			// Sized from rows actually read, so that memory stays in
			// proportion to the data, however many lines the input claims.
			n := size.capacity(rows, r.InputOffset()-headerBytes)
			for _, c := range columns {
				c.grow(n)
			}
		}
	}
	if rows == 0 {
		return nil, apperr.BadInputf("no data rows: the CSV has only a header")
	}

	if err := checkUsable(columns); err != nil {
		return nil, err
	}
	again := func() records { return newRecords(open()) }
	if err := rereadText(again, columns, rows); err != nil {
		return nil, err
	}
	result := make([]*ml.Column, len(columns))
	for i, c := range columns {
		result[i] = c.column()
	}
	return result, nil
}
