// Package deploykey keeps a secret made once per deployment, at random, in
// Redis, for every process of the deployment to share: the key of the
// member store's code fingerprints and the key naming phones in the
// owners' messages.
package deploykey

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync"

	"github.com/redis/go-redis/v9"
)

// Key is the secret kept at one Redis key. It is safe for concurrent use.
type Key struct {
	rdb redis.UniversalClient
	at  string

	mu    sync.Mutex
	value string
}

// New returns the secret kept in rdb at the key at.
func New(rdb redis.UniversalClient, at string) *Key { return &Key{rdb: rdb, at: at} }

// At is the Redis key that holds the secret.
func (k *Key) At() string { return k.at }

// Load returns the secret as Redis holds it (a fresh one is 32 random
// bytes in hex), making it if no process has yet: SET NX, so every process
// ends with the same secret. It is read from Redis once.
func (k *Key) Load(ctx context.Context) (string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.value != "" {
		return k.value, nil
	}
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return "", err
	}
	if err := k.rdb.SetNX(ctx, k.at, hex.EncodeToString(fresh), 0).Err(); err != nil {
		return "", err
	}
	v, err := k.rdb.Get(ctx, k.at).Result()
	if err != nil {
		return "", err
	}
	k.value = v
	return v, nil
}
