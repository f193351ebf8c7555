package web

import "context"

// OnCompare makes s call f at each token comparison.
func OnCompare(s *Site, f func()) { s.auth.onCompare = f }

// SessionKey is the key s derives session hashes with.
func SessionKey(ctx context.Context, s *Site) ([]byte, error) { return s.auth.sessions.cachedKey(ctx) }
