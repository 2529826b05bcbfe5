package store

import (
	"context"
	"fmt"

	"gorm.io/gorm/clause"
)

// setting is a value that every server on the database shares, such as
// the key that signs report links.
type setting struct {
	Name  string `gorm:"primaryKey"`
	Value []byte `gorm:"not null"`
}

// InitSetting returns the value stored under name, storing value there
// first if there is none. Servers starting at once on the same database
// all get the value of the first to store one, which later calls do not
// change.
func (s *Store) InitSetting(ctx context.Context, name string, value []byte) ([]byte, error) {
	db := s.db.WithContext(ctx)
	if err := db.Clauses(clause.OnConflict{DoNothing: true}).Create(&setting{Name: name, Value: value}).Error; err != nil {
		return nil, fmt.Errorf("store setting %s: %w", name, err)
	}
	var got setting
	if err := db.Where("name = ?", name).Take(&got).Error; err != nil {
		return nil, fmt.Errorf("read setting %s: %w", name, err)
	}
	return got.Value, nil
}
