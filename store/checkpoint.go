package store

import (
	"context"
	"sync"
	"time"
)

// SQLite's automatic checkpoint runs inside the commit that crosses its
// threshold, so the request that stores a large dataset also copied it
// from the WAL into the database file: 0.3 s of a 1M-row import. The store
// turns it off (see openSQLite) and checkpoints in a goroutine of its own:
// soon after every write that may have grown the WAL much, and every
// checkpointEvery in any case. PASSIVE checkpoints never block readers or
// writers; journal_size_limit then cuts the WAL back.

const checkpointEvery = 2 * time.Second

// checkpointer runs the store's WAL checkpoints until stop is closed.
type checkpointer struct {
	soon     chan struct{}
	stop     chan struct{}
	stopOnce sync.Once
	stopped  chan struct{}
}

func (s *Store) startCheckpointer() {
	c := &checkpointer{soon: make(chan struct{}, 1), stop: make(chan struct{}), stopped: make(chan struct{})}
	s.checkpoints = c
	go func() {
		defer close(c.stopped)
		tick := time.NewTicker(checkpointEvery)
		defer tick.Stop()
		for {
			select {
			case <-c.stop:
				return
			case <-tick.C:
			case <-c.soon:
			}
			// An error (the database closing, say) is the next attempt's
			// to retry; nothing waits on a checkpoint.
			s.db.Exec("PRAGMA wal_checkpoint(PASSIVE)")
		}
	}()
}

// checkpointSoon asks for a checkpoint now, after a large write.
func (s *Store) checkpointSoon() {
	if s.checkpoints == nil {
		return
	}
	select {
	case s.checkpoints.soon <- struct{}{}:
	default: // one is already asked for
	}
}

// stopCheckpointer stops the goroutine and checkpoints all of the WAL
// into the database file, truncating the WAL, before the store closes.
func (s *Store) stopCheckpointer() {
	c := s.checkpoints
	if c == nil {
		return
	}
	c.stopOnce.Do(func() {
		close(c.stop)
		<-c.stopped
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		s.db.WithContext(ctx).Exec("PRAGMA wal_checkpoint(TRUNCATE)")
	})
}
