package model

import (
	"context"
	"sync"

	"mlgraph/store"
)

// ModelConnection is a page of models whose parts are fetched only when a
// query asks for them: a client that wants only totalCount (say, for every
// dataset of a list) costs one batched count, not a page query each.
type ModelConnection struct {
	// Load fetches the page (once, however many fields use it).
	Load func(ctx context.Context) (*store.ModelPage, error)
	// Count, if set, counts the list without loading the page.
	Count func(ctx context.Context) (int64, error)

	once sync.Once
	page *store.ModelPage
	err  error
}

func (c *ModelConnection) load(ctx context.Context) (*store.ModelPage, error) {
	c.once.Do(func() { c.page, c.err = c.Load(ctx) })
	return c.page, c.err
}

// Edges returns the page's models with their cursors.
func (c *ModelConnection) Edges(ctx context.Context) ([]ModelEdge, error) {
	p, err := c.load(ctx)
	if err != nil {
		return nil, err
	}
	edges := make([]ModelEdge, len(p.Items))
	for i, m := range p.Items {
		edges[i] = ModelEdge{Cursor: p.Cursors[i], Node: m}
	}
	return edges, nil
}

// PageInfo says whether another page follows.
func (c *ModelConnection) PageInfo(ctx context.Context) (*PageInfo, error) {
	p, err := c.load(ctx)
	if err != nil {
		return nil, err
	}
	info := &PageInfo{HasNextPage: p.HasNextPage}
	if p.EndCursor != "" {
		info.EndCursor = &p.EndCursor
	}
	return info, nil
}

// TotalCount counts the whole list.
func (c *ModelConnection) TotalCount(ctx context.Context) (int, error) {
	if c.Count != nil {
		n, err := c.Count(ctx)
		return int(n), err
	}
	p, err := c.load(ctx)
	if err != nil {
		return 0, err
	}
	return int(p.TotalCount), nil
}
