package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"mlgraph/internal/apperr"
)

// APIKey is an API key's record. The secret itself is never stored: only
// its SHA-256 hash, which finds the record when the key is presented, and
// its first characters, which let a person tell keys apart.
type APIKey struct {
	ID      int64  `gorm:"primaryKey"`
	Name    string `gorm:"not null"`
	Project string `gorm:"not null;index"`
	// Scopes are what the key may do (READ, PREDICT, TRAIN, ADMIN).
	Scopes []string `gorm:"serializer:json;not null"`
	// Prefix is the start of the secret, shown in lists.
	Prefix string `gorm:"not null"`
	// Hash is the hex SHA-256 of the secret.
	Hash string `gorm:"not null;uniqueIndex"`
	// RateLimit is the key's own limit in requests per second; nil: the
	// server's default.
	RateLimit  *float64
	CreatedAt  time.Time `gorm:"not null"`
	LastUsedAt *time.Time
	// RevokedAt is when the key stopped working; nil while it works.
	RevokedAt *time.Time
}

// CreateAPIKey stores a new key, filling in k.ID and k.CreatedAt. Keys are
// made outside any project limit (by the command line, or an admin whose
// project the service has checked), so k.Project is kept as given.
func (s *Store) CreateAPIKey(ctx context.Context, k *APIKey) error {
	if err := s.db.WithContext(ctx).Create(k).Error; err != nil {
		return fmt.Errorf("create API key %q: %w", k.Name, err)
	}
	return nil
}

// APIKeyByHash returns the key whose secret has the given hash, revoked or
// not; NOT_FOUND if there is none.
func (s *Store) APIKeyByHash(ctx context.Context, hash string) (*APIKey, error) {
	var k APIKey
	if err := s.db.WithContext(ctx).Where("hash = ?", hash).Take(&k).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return nil, apperr.Newf(apperr.NotFound, "no such API key")
		}
		return nil, fmt.Errorf("find API key: %w", err)
	}
	return &k, nil
}

// ListAPIKeys returns the keys of ctx's project (every key without a
// limit), oldest first.
func (s *Store) ListAPIKeys(ctx context.Context) ([]*APIKey, error) {
	var keys []*APIKey
	if err := s.scoped(ctx).Order("id").Find(&keys).Error; err != nil {
		return nil, fmt.Errorf("list API keys: %w", err)
	}
	return keys, nil
}

// HasAPIKeys reports whether any key was ever made, revoked or not.
func (s *Store) HasAPIKeys(ctx context.Context) (bool, error) {
	var ids []int64
	if err := s.db.WithContext(ctx).Model(&APIKey{}).Limit(1).Pluck("id", &ids).Error; err != nil {
		return false, fmt.Errorf("look for API keys: %w", err)
	}
	return len(ids) > 0, nil
}

// RevokeAPIKey stops key id (of ctx's project) from working and returns
// it; revoking a revoked key changes nothing.
func (s *Store) RevokeAPIKey(ctx context.Context, id int64) (*APIKey, error) {
	var k APIKey
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := inProject(ctx)(tx).Take(&k, id).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return apperr.NotFoundf("API key", id)
			}
			return err
		}
		if k.RevokedAt != nil {
			return nil
		}
		now := s.db.NowFunc()
		k.RevokedAt = &now
		return tx.Model(&APIKey{}).Where("id = ?", id).Update("revoked_at", now).Error
	})
	if err != nil {
		if _, ok := apperr.As(err); ok {
			return nil, err
		}
		return nil, fmt.Errorf("revoke API key %d: %w", id, err)
	}
	return &k, nil
}

// TouchAPIKey records that key id was used at t.
func (s *Store) TouchAPIKey(ctx context.Context, id int64, t time.Time) error {
	if err := s.db.WithContext(ctx).Model(&APIKey{}).Where("id = ?", id).Update("last_used_at", t).Error; err != nil {
		return fmt.Errorf("record use of API key %d: %w", id, err)
	}
	return nil
}
