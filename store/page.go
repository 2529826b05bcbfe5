package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
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
	// at the beginning.
	After string
	// Order sorts the list; the zero Order is newest first.
	Order Order
}

// Order sorts a list by one of its sort keys (see the list methods for
// their names), then by id in the same direction so that the order is
// total and cursors are exact.
type Order struct {
	// Key names the sort key; "" sorts by creation (id).
	Key       string
	Ascending bool
}

// sortKey is a list's sortable key: the SQL expression over its table
// (never the client's text) and how to read it from a row for cursors.
type sortKey[T any] struct {
	expr  string
	value func(*T) any
}

// Paged is one page of a list.
type Paged[T any] struct {
	Items []*T
	// TotalCount counts the whole list (with its filter), not the page.
	TotalCount  int64
	HasNextPage bool
	// EndCursor is the cursor of the last item, "" if the page is empty.
	EndCursor string
	// Cursors holds each item's cursor, for Relay's edges.
	Cursors []string
}

type (
	DatasetPage    = Paged[Dataset]
	ModelPage      = Paged[Model]
	PredictionPage = Paged[Prediction]
)

// cursorPrefix versions the cursor format: v1 holds an id (lists in id
// order), v2 a sort key's value and an id.
const (
	cursorPrefix      = "v1:"
	keyedCursorPrefix = "v2:"
)

// keyedCursor is a v2 cursor: the order it belongs to, the row's value of
// the sort key and its id.
type keyedCursor struct {
	Key   string `json:"k"`
	Asc   bool   `json:"a,omitempty"`
	Value any    `json:"v"`
	ID    int64  `json:"i"`
}

func encodeKeyedCursor(c keyedCursor) string {
	raw, _ := json.Marshal(c) // strings, numbers and bools always encode
	return base64.RawURLEncoding.EncodeToString(append([]byte(keyedCursorPrefix), raw...))
}

func decodeKeyedCursor(cursor string) (keyedCursor, error) {
	var c keyedCursor
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return c, invalidCursor()
	}
	body, ok := strings.CutPrefix(string(raw), keyedCursorPrefix)
	if !ok || json.Unmarshal([]byte(body), &c) != nil || c.ID <= 0 {
		return c, invalidCursor()
	}
	return c, nil
}

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
// all) selects, in p.Order (newest first by default), using keyset
// pagination: a cursor holds the last row's sort key and id, so pages never
// skip or repeat rows when rows are added meanwhile. keys names the sort
// keys the list offers (a client's key must be one of them); idOf gives a
// row's id. The count and the page are separate reads, not a snapshot: a
// transaction would take SQLite's write lock (_txlock=immediate).
func listPage[T any](ctx context.Context, db *gorm.DB, p Page, filter func(*gorm.DB) *gorm.DB, idOf func(*T) int64, keys map[string]sortKey[T]) (*Paged[T], error) {
	limit, err := p.limit()
	if err != nil {
		return nil, err
	}
	var key *sortKey[T]
	if p.Order.Key != "" {
		k, ok := keys[p.Order.Key]
		if !ok {
			return nil, apperr.BadInputf("cannot sort by %q", p.Order.Key)
		}
		key = &k
	}
	desc := !p.Order.Ascending
	query := func() *gorm.DB {
		q := db.WithContext(ctx).Model(new(T))
		if filter != nil {
			q = filter(q)
		}
		return q
	}

	cmp := ">"
	if desc {
		cmp = "<"
	}
	// The rows after the cursor; checked before anything is read.
	var after func(*gorm.DB) *gorm.DB
	switch {
	case p.After == "":
	case key == nil && desc:
		afterID, err := DecodeCursor(p.After)
		if err != nil {
			return nil, err
		}
		after = func(q *gorm.DB) *gorm.DB { return q.Where(clause.Lt{Column: primaryKey, Value: afterID}) }
	case key == nil:
		c, err := decodeKeyedCursor(p.After)
		if err != nil || c.Key != "" || !c.Asc {
			return nil, invalidCursor()
		}
		after = func(q *gorm.DB) *gorm.DB { return q.Where(clause.Gt{Column: primaryKey, Value: c.ID}) }
	default:
		c, err := decodeKeyedCursor(p.After)
		if err != nil || c.Key != p.Order.Key || c.Asc != p.Order.Ascending {
			return nil, invalidCursor() // a cursor of another order
		}
		cond := fmt.Sprintf("(%s %s ? OR (%s = ? AND id %s ?))", key.expr, cmp, key.expr, cmp)
		after = func(q *gorm.DB) *gorm.DB { return q.Where(cond, c.Value, c.Value, c.ID) }
	}

	page := &Paged[T]{Items: []*T{}, Cursors: []string{}}
	if err := query().Count(&page.TotalCount).Error; err != nil {
		return nil, err
	}
	if page.TotalCount == 0 {
		return page, nil
	}
	q := query()
	if after != nil {
		q = after(q)
	}
	if key != nil {
		q = q.Order(clause.OrderByColumn{Column: clause.Column{Name: key.expr, Raw: true}, Desc: desc})
	}
	q = q.Order(clause.OrderByColumn{Column: primaryKey, Desc: desc})
	// One row more than asked tells whether another page follows.
	if err := q.Limit(limit + 1).Find(&page.Items).Error; err != nil {
		return nil, err
	}
	if len(page.Items) > limit {
		page.Items = page.Items[:limit]
		page.HasNextPage = true
	}
	page.Cursors = make([]string, len(page.Items))
	for i, row := range page.Items {
		page.Cursors[i] = cursorFor(row, idOf, key, p.Order)
	}
	if n := len(page.Items); n > 0 {
		page.EndCursor = page.Cursors[n-1]
	}
	return page, nil
}

// cursorFor is the cursor of a row in a list of the given order.
func cursorFor[T any](row *T, idOf func(*T) int64, key *sortKey[T], o Order) string {
	switch {
	case key != nil:
		return encodeKeyedCursor(keyedCursor{Key: o.Key, Asc: o.Ascending, Value: key.value(row), ID: idOf(row)})
	case o.Ascending:
		return encodeKeyedCursor(keyedCursor{Asc: true, ID: idOf(row)})
	}
	return EncodeCursor(idOf(row))
}

// containsPattern is a LIKE pattern matching text anywhere, with LIKE's
// wildcards in text escaped (use with ESCAPE '\').
func containsPattern(text string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + strings.ToLower(r.Replace(text)) + "%"
}
