package store

import (
	"context"

	"gorm.io/gorm"
)

// DefaultProject owns what is created outside any project: with
// authentication off, and everything stored before there were projects.
const DefaultProject = "default"

// Datasets and models belong to a project (a tenant). A context made by
// WithProject limits the store to one project: reads, lists, counts,
// updates and deletes see only its datasets and models, and what is
// created belongs to it. A context without one (background work, and a
// server with authentication off) sees every project and creates in
// DefaultProject. The limit lives in the store, beside the queries, so that
// no caller can forget it.

type projectKey struct{}

// WithProject returns ctx limited to project's datasets and models.
func WithProject(ctx context.Context, project string) context.Context {
	return context.WithValue(ctx, projectKey{}, project)
}

// AllProjects returns ctx without a project limit, for work done on the
// server's behalf (such as loading a model that the caller's project
// still has to be checked against, see Visible).
func AllProjects(ctx context.Context) context.Context {
	return context.WithValue(ctx, projectKey{}, nil)
}

// ProjectOf returns the project ctx is limited to, if any.
func ProjectOf(ctx context.Context) (string, bool) {
	p, ok := ctx.Value(projectKey{}).(string)
	return p, ok
}

// Visible reports whether a resource of the given project may be seen
// with ctx.
func Visible(ctx context.Context, project string) bool {
	p, limited := ProjectOf(ctx)
	return !limited || p == project
}

// projectForNew is the project a resource created with ctx belongs to.
func projectForNew(ctx context.Context) string {
	if p, ok := ProjectOf(ctx); ok {
		return p
	}
	return DefaultProject
}

// inProject is a GORM scope that keeps the rows of ctx's project, if it
// has one.
func inProject(ctx context.Context) func(*gorm.DB) *gorm.DB {
	return func(q *gorm.DB) *gorm.DB {
		if p, ok := ProjectOf(ctx); ok {
			return q.Where("project = ?", p)
		}
		return q
	}
}

// scoped is s.db for ctx, limited to ctx's project. It may start several
// queries: each gets the limit and nothing of the others.
func (s *Store) scoped(ctx context.Context) *gorm.DB {
	return inProject(ctx)(s.db.WithContext(ctx)).Session(&gorm.Session{})
}
