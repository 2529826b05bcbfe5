package store

import (
	"context"
	"encoding/base64"
	"strconv"
	"strings"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"mlgraph/internal/apperr"
)

// Page sizes: First defaults to DefaultPageSize and is capped at MaxPageSize.
const (
	DefaultPageSize = 20
	MaxPageSize     = 100
)

// Page asks for one page of a list, newest first (Relay's first/after).
type Page struct {
	// First is how many items to return: 0 means DefaultPageSize, more than
	// MaxPageSize means MaxPageSize, negative is an error.
	First int
	// After is the cursor of the item the page starts after; "" starts
	// with the newest.
	After string
}

// Paged is one page of a list.
type Paged[T any] struct {
	Items []*T
	// TotalCount counts the whole list (with its filter), not the page.
	TotalCount  int64
	HasNextPage bool
	// EndCursor is the cursor of the last item, "" if the page is empty.
	EndCursor string
}

type (
	DatasetPage    = Paged[Dataset]
	ModelPage      = Paged[Model]
	PredictionPage = Paged[Prediction]
)

// cursorPrefix versions the cursor format, so that a later ordering (say by
// name) can put its sort key in a cursor and still recognise old ones.
const cursorPrefix = "v1:"

// EncodeCursor returns the opaque cursor of the item with the given id.
func EncodeCursor(id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursorPrefix + strconv.FormatInt(id, 10)))
}

// DecodeCursor returns the id in a cursor made by EncodeCursor, or a
// BAD_USER_INPUT error.
func DecodeCursor(cursor string) (int64, error) {
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return 0, invalidCursor()
	}
	digits, ok := strings.CutPrefix(string(raw), cursorPrefix)
	if !ok {
		return 0, invalidCursor()
	}
	id, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || id <= 0 {
		return 0, invalidCursor()
	}
	return id, nil
}

func invalidCursor() error {
	e := apperr.BadInputf("invalid cursor")
	e.Field = "after"
	return e
}

// limit returns how many items the page holds.
func (p Page) limit() (int, error) {
	switch {
	case p.First < 0:
		e := apperr.BadInputf("first must not be negative, got %d", p.First)
		e.Field = "first"
		return 0, e
	case p.First == 0:
		return DefaultPageSize, nil
	case p.First > MaxPageSize:
		return MaxPageSize, nil
	}
	return p.First, nil
}

// primaryKey is the id column of the table being queried.
var primaryKey = clause.Column{Table: clause.CurrentTable, Name: clause.PrimaryKey}

// listPage returns page p of the rows of T's table that filter (nil for
// all) selects, newest (highest id) first. idOf gives a row's id, for the
// end cursor. The count and the page are separate reads, not a snapshot:
// a transaction would take SQLite's write lock (_txlock=immediate).
func listPage[T any](ctx context.Context, db *gorm.DB, p Page, filter func(*gorm.DB) *gorm.DB, idOf func(*T) int64) (*Paged[T], error) {
	limit, err := p.limit()
	if err != nil {
		return nil, err
	}
	var afterID int64
	if p.After != "" {
		if afterID, err = DecodeCursor(p.After); err != nil {
			return nil, err
		}
	}
	query := func() *gorm.DB {
		q := db.WithContext(ctx).Model(new(T))
		if filter != nil {
			q = filter(q)
		}
		return q
	}

	page := &Paged[T]{Items: []*T{}}
	if err := query().Count(&page.TotalCount).Error; err != nil {
		return nil, err
	}
	if page.TotalCount == 0 {
		return page, nil
	}
	q := query()
	if afterID > 0 {
		q = q.Where(clause.Lt{Column: primaryKey, Value: afterID})
	}
	// One row more than asked tells whether another page follows.
	if err := q.Order(clause.OrderByColumn{Column: primaryKey, Desc: true}).Limit(limit + 1).Find(&page.Items).Error; err != nil {
		return nil, err
	}
	if len(page.Items) > limit {
		page.Items = page.Items[:limit]
		page.HasNextPage = true
	}
	if n := len(page.Items); n > 0 {
		page.EndCursor = EncodeCursor(idOf(page.Items[n-1]))
	}
	return page, nil
}
