package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/rdonboard/rdonboard/internal/deploykey"
)

// phoneKeys names phones in task IDs and Redis keys by a keyed hash, so
// that neither the dashboard nor a key listing shows a number, and a hash
// cannot be reversed by trying every number. The key is the deployment's,
// shared by every process.
type phoneKeys struct{ key *deploykey.Key }

func newPhoneKeys(rdb redis.UniversalClient, prefix string) *phoneKeys {
	return &phoneKeys{key: deploykey.New(rdb, prefix+"notify:key")}
}

// of returns the hash naming phone (32 hex digits).
func (k *phoneKeys) of(ctx context.Context, phone string) (string, error) {
	key, err := k.key.Load(ctx)
	if err != nil {
		return "", fmt.Errorf("phone hash key: %w", err)
	}
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte(phone))
	return hex.EncodeToString(mac.Sum(nil)[:16]), nil
}
