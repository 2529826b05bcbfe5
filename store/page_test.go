package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"mlgraph/internal/apperr"
)

func TestCursorRoundTrip(t *testing.T) {
	for _, id := range []int64{1, 42, 1<<63 - 1} {
		got, err := DecodeCursor(EncodeCursor(id))
		if err != nil || got != id {
			t.Errorf("DecodeCursor(EncodeCursor(%d)) = %d, %v", id, got, err)
		}
	}
}

func TestDecodeCursorRejects(t *testing.T) {
	b64 := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	for _, cursor := range []string{
		"!!!", "djE6NQ==", // padded base64 is not what EncodeCursor makes
		b64("5"), b64("v2:5"), b64("v1:"), b64("v1:x"), b64("v1:0"), b64("v1:-3"), b64("v1:5 "),
		b64("v1:99999999999999999999"),
	} {
		_, err := DecodeCursor(cursor)
		wantCode(t, err, apperr.BadInput)
	}
}

// walk reads every page of a list of n items, newest first, and checks the
// pages against each other and against ids (oldest first).
func walk[T any](t *testing.T, first int, ids []int64, list func(Page) (*Paged[T], error), idOf func(*T) int64) {
	t.Helper()
	pageSize := first
	if pageSize == 0 {
		pageSize = DefaultPageSize
	}
	var after string
	next := len(ids) - 1 // index in ids of the item expected next
	for pages := 0; ; pages++ {
		page, err := list(Page{First: first, After: after})
		if err != nil {
			t.Fatal(err)
		}
		if page.TotalCount != int64(len(ids)) {
			t.Fatalf("page %d: TotalCount %d, want %d", pages, page.TotalCount, len(ids))
		}
		if want := min(pageSize, next+1); len(page.Items) != want {
			t.Fatalf("page %d: %d items, want %d", pages, len(page.Items), want)
		}
		for _, item := range page.Items {
			if got := idOf(item); got != ids[next] {
				t.Fatalf("page %d: item %d, want %d", pages, got, ids[next])
			}
			next--
		}
		if page.HasNextPage != (next >= 0) {
			t.Fatalf("page %d: HasNextPage %v with %d items to go", pages, page.HasNextPage, next+1)
		}
		if len(page.Items) > 0 && page.EndCursor != EncodeCursor(idOf(page.Items[len(page.Items)-1])) {
			t.Fatalf("page %d: EndCursor %q is not the last item's", pages, page.EndCursor)
		}
		if !page.HasNextPage {
			return
		}
		after = page.EndCursor
	}
}

func TestListDatasetsPages(t *testing.T) {
	s, _ := openTestStore(t)
	ctx := context.Background()
	list := func(p Page) (*DatasetPage, error) { return s.ListDatasets(ctx, DatasetFilter{}, p) }
	idOf := func(d *Dataset) int64 { return d.ID }

	walk(t, 0, nil, list, idOf)
	var ids []int64
	for range 45 {
		d, _ := createDataset(t, s, "d", 1)
		ids = append(ids, d.ID)
	}
	for _, first := range []int{0, 1, 7, 15, 44, 45, 46} {
		walk(t, first, ids, list, idOf)
	}
	// A deleted item's cursor still works: the page goes on below it.
	page, err := s.ListDatasets(ctx, DatasetFilter{}, Page{First: 2, After: EncodeCursor(ids[10])})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteDataset(ctx, ids[10]); err != nil {
		t.Fatal(err)
	}
	again, err := s.ListDatasets(ctx, DatasetFilter{}, Page{First: 2, After: EncodeCursor(ids[10])})
	if err != nil {
		t.Fatal(err)
	}
	if page.Items[0].ID != ids[9] || again.Items[0].ID != ids[9] {
		t.Errorf("after deleting %d the page starts with %d, want %d", ids[10], again.Items[0].ID, ids[9])
	}
}

func TestListPageSizes(t *testing.T) {
	s, _ := openTestStore(t)
	ctx := context.Background()
	m := createModel(t, s, nil)
	for range MaxPageSize + 5 {
		if err := s.CreatePrediction(ctx, &Prediction{ModelID: m.ID, Inputs: json.RawMessage(`{}`)}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct{ first, want int }{
		{0, DefaultPageSize}, {1, 1}, {MaxPageSize, MaxPageSize}, {MaxPageSize + 1, MaxPageSize}, {1000, MaxPageSize},
	} {
		page, err := s.ListPredictions(ctx, m.ID, Page{First: tc.first})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Items) != tc.want || !page.HasNextPage || page.TotalCount != MaxPageSize+5 {
			t.Errorf("first %d: %d items, HasNextPage %v, TotalCount %d; want %d, true, %d",
				tc.first, len(page.Items), page.HasNextPage, page.TotalCount, tc.want, MaxPageSize+5)
		}
	}

	_, err := s.ListPredictions(ctx, m.ID, Page{First: -1})
	wantCode(t, err, apperr.BadInput)
	_, err = s.ListDatasets(ctx, DatasetFilter{}, Page{After: "not a cursor"})
	wantCode(t, err, apperr.BadInput)
	_, err = s.ListModels(ctx, ModelFilter{}, Page{After: "not a cursor"})
	wantCode(t, err, apperr.BadInput)
	if e, _ := apperr.As(err); e.Field != "after" {
		t.Errorf("bad cursor error names field %q, want \"after\"", e.Field)
	}
}

func TestListModelsFilter(t *testing.T) {
	s, _ := openTestStore(t)
	ctx := context.Background()
	a, _ := createDataset(t, s, "a", 1)
	b, _ := createDataset(t, s, "b", 1)
	var all, ofA []int64
	for i := range 12 {
		dataset := &a.ID
		if i%3 == 0 {
			dataset = &b.ID
		}
		m := createModel(t, s, dataset)
		all = append(all, m.ID)
		if dataset == &a.ID {
			ofA = append(ofA, m.ID)
		}
	}
	idOf := func(m *Model) int64 { return m.ID }
	walk(t, 3, ofA, func(p Page) (*ModelPage, error) { return s.ListModels(ctx, ModelFilter{DatasetID: &a.ID}, p) }, idOf)
	walk(t, 5, all, func(p Page) (*ModelPage, error) { return s.ListModels(ctx, ModelFilter{}, p) }, idOf)
	walk(t, 5, nil, func(p Page) (*ModelPage, error) { return s.ListModels(ctx, ModelFilter{DatasetID: new(int64(999))}, p) }, idOf)
}

func TestListPredictions(t *testing.T) {
	s, _ := openTestStore(t)
	ctx := context.Background()
	m, other := createModel(t, s, nil), createModel(t, s, nil)
	var ids []int64
	for range 9 {
		for _, model := range []*Model{m, other} {
			p := &Prediction{ModelID: model.ID, Inputs: json.RawMessage(`{"i":1}`), Outputs: json.RawMessage(`[1]`)}
			if err := s.CreatePrediction(ctx, p); err != nil {
				t.Fatal(err)
			}
			if model == m {
				ids = append(ids, p.ID)
			}
		}
	}
	walk(t, 4, ids, func(p Page) (*PredictionPage, error) { return s.ListPredictions(ctx, m.ID, p) },
		func(p *Prediction) int64 { return p.ID })

	page, err := s.ListPredictions(ctx, m.ID, Page{First: 1})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(page.Items[0].Inputs); got != `{"i":1}` {
		t.Errorf("Inputs = %s", got)
	}

	fresh := createModel(t, s, nil)
	walk(t, 4, nil, func(p Page) (*PredictionPage, error) { return s.ListPredictions(ctx, fresh.ID, p) },
		func(p *Prediction) int64 { return p.ID })
	_, err = s.ListPredictions(ctx, 999, Page{})
	wantCode(t, err, apperr.NotFound)
}

// TestOrderedPagesAndFilters walks lists sorted by a key, both ways, page
// by page, and filters them.
func TestOrderedPagesAndFilters(t *testing.T) {
	s, _ := openTestStore(t)
	ctx := context.Background()
	names := []string{"beta", "Alpha", "gamma", "alpha_2", "delta", "Beta", "epsilon"}
	rows := []int{5, 3, 5, 1, 9, 3, 5}
	for i, name := range names {
		d := &Dataset{Name: name, RowCount: rows[i], Columns: []ColumnInfo{{Name: "x", Type: "NUMERIC"}}}
		if err := s.CreateDataset(ctx, d, [][]byte{{1}}); err != nil {
			t.Fatal(err)
		}
	}
	walk := func(f DatasetFilter, o Order) []string {
		t.Helper()
		var got []string
		after := ""
		for pages := 0; pages < 10; pages++ {
			page, err := s.ListDatasets(ctx, f, Page{First: 2, After: after, Order: o})
			if err != nil {
				t.Fatal(err)
			}
			for i, d := range page.Items {
				got = append(got, fmt.Sprintf("%s/%d", d.Name, d.RowCount))
				if page.Cursors[i] == "" {
					t.Fatal("empty edge cursor")
				}
			}
			if !page.HasNextPage {
				return got
			}
			after = page.EndCursor
		}
		t.Fatal("pages do not end")
		return nil
	}
	check := func(got []string, want string) {
		t.Helper()
		if strings.Join(got, " ") != want {
			t.Errorf("got  %s\nwant %s", strings.Join(got, " "), want)
		}
	}
	// Ties on the key are broken by id in the same direction.
	check(walk(DatasetFilter{}, Order{Key: "ROW_COUNT", Ascending: true}), "alpha_2/1 Alpha/3 Beta/3 beta/5 gamma/5 epsilon/5 delta/9")
	check(walk(DatasetFilter{}, Order{Key: "ROW_COUNT"}), "delta/9 epsilon/5 gamma/5 beta/5 Beta/3 Alpha/3 alpha_2/1")
	check(walk(DatasetFilter{}, Order{Ascending: true}), "beta/5 Alpha/3 gamma/5 alpha_2/1 delta/9 Beta/3 epsilon/5")
	// Names containing "alph", any case; "_" is not a wildcard.
	check(walk(DatasetFilter{NameContains: "ALPH"}, Order{Key: "NAME", Ascending: true}), "Alpha/3 alpha_2/1")
	check(walk(DatasetFilter{NameContains: "a_"}, Order{}), "alpha_2/1")

	page, _ := s.ListDatasets(ctx, DatasetFilter{}, Page{First: 2, Order: Order{Key: "NAME"}})
	if _, err := s.ListDatasets(ctx, DatasetFilter{}, Page{After: page.EndCursor, Order: Order{Key: "ROW_COUNT"}}); apperr.CodeOf(err) != apperr.BadInput {
		t.Errorf("a cursor of another order: %v", err)
	}
	if _, err := s.ListDatasets(ctx, DatasetFilter{}, Page{Order: Order{Key: "SIZE; DROP TABLE"}}); apperr.CodeOf(err) != apperr.BadInput {
		t.Errorf("unknown sort key: %v", err)
	}
}
