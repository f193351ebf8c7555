package notify

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync"

	"github.com/redis/go-redis/v9"
)

// phoneKeys names phones in task IDs and Redis keys by a keyed hash, so
// that neither the dashboard nor a key listing shows a number, and a hash
// cannot be reversed by trying every number. The key is made once, at
// random, and kept in Redis for every process to share.
type phoneKeys struct {
	rdb redis.UniversalClient
	at  string

	mu  sync.Mutex
	key []byte
}

func newPhoneKeys(rdb redis.UniversalClient, prefix string) *phoneKeys {
	return &phoneKeys{rdb: rdb, at: prefix + "notify:key"}
}

// of returns the hash naming phone (32 hex digits).
func (k *phoneKeys) of(ctx context.Context, phone string) (string, error) {
	key, err := k.load(ctx)
	if err != nil {
		return "", err
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(phone))
	return hex.EncodeToString(mac.Sum(nil)[:16]), nil
}

// load reads the shared key, making it if no process has yet.
func (k *phoneKeys) load(ctx context.Context) ([]byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.key != nil {
		return k.key, nil
	}
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return nil, err
	}
	if err := k.rdb.SetNX(ctx, k.at, hex.EncodeToString(fresh), 0).Err(); err != nil {
		return nil, fmt.Errorf("phone hash key: %w", err)
	}
	v, err := k.rdb.Get(ctx, k.at).Result()
	if err != nil {
		return nil, fmt.Errorf("phone hash key: %w", err)
	}
	k.key = []byte(v)
	return k.key, nil
}
