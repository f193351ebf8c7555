package web

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Session is one operator login as the session list shows it. The cookie
// value is never shown; ID is a handle to revoke the session by.
type Session struct {
	ID        string    `json:"id"`
	Client    string    `json:"client"`
	Agent     string    `json:"user_agent"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// ErrNoSession is a session that does not exist (or no longer does).
var ErrNoSession = errors.New("no such session")

// sessions keeps operator logins in Redis, so that every worker sharing it
// sees a login and its end at once. The cookie holds a random ID only; Redis
// holds a keyed hash of it (a copy of Redis alone lets no one in), under a
// key derived from the callback token and a random salt made once per
// deployment, so changing the token ends every session and a captured cookie
// gives no handle on the token.
type sessions struct {
	rdb    redis.UniversalClient
	prefix string
	token  string
	now    func() time.Time

	mu  sync.Mutex
	key []byte // HMAC(token, salt); nil until read
}

func newSessions(rdb redis.UniversalClient, prefix, token string, now func() time.Time) *sessions {
	if rdb == nil || token == "" {
		return nil
	}
	return &sessions{rdb: rdb, prefix: prefix, token: token, now: now}
}

// saltKey holds the deployment's salt; it is written once (SET NX) by the
// first worker that needs it and read by all.
func (s *sessions) saltKey() string { return s.prefix + "session-salt" }

// loadKey reads (or makes) the salt and derives the session key from it.
func (s *sessions) loadKey(ctx context.Context) ([]byte, error) {
	salt := make([]byte, 32)
	_, _ = rand.Read(salt)
	if err := s.rdb.SetNX(ctx, s.saltKey(), hex.EncodeToString(salt), 0).Err(); err != nil {
		return nil, fmt.Errorf("write the session salt: %w", err)
	}
	stored, err := s.rdb.Get(ctx, s.saltKey()).Result()
	if err != nil {
		return nil, fmt.Errorf("read the session salt: %w", err)
	}
	h := hmac.New(sha256.New, []byte(s.token))
	h.Write([]byte("rdonboard session key v2\x00" + stored))
	key := h.Sum(nil)
	s.mu.Lock()
	s.key = key
	s.mu.Unlock()
	return key, nil
}

// cachedKey is the session key, read once.
func (s *sessions) cachedKey(ctx context.Context) ([]byte, error) {
	s.mu.Lock()
	key := s.key
	s.mu.Unlock()
	if key != nil {
		return key, nil
	}
	return s.loadKey(ctx)
}

func (s *sessions) hash(key []byte, v string) string {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(v))
	return hex.EncodeToString(h.Sum(nil))
}

// recordKey is where the session of hash id lives; indexKey lists the
// sessions made under key, by expiry.
func (s *sessions) recordKey(id string) string { return s.prefix + "session:" + id }
func (s *sessions) indexKey(key []byte) string {
	return s.prefix + "sessions:" + s.hash(key, "index")[:16]
}

// create starts a session for client and returns the cookie value.
func (s *sessions) create(ctx context.Context, client, agent string) (string, error) {
	key, err := s.loadKey(ctx) // fresh: a flushed Redis gets a new salt
	if err != nil {
		return "", err
	}
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	cookie := base64.RawURLEncoding.EncodeToString(raw)
	id, now := s.hash(key, cookie), s.now()
	expires := now.Add(SessionTTL)
	if len(agent) > 200 {
		agent = agent[:200]
	}
	_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, s.recordKey(id), "client", client, "agent", agent,
			"created", now.UnixMilli(), "expires", expires.UnixMilli())
		p.Expire(ctx, s.recordKey(id), SessionTTL)
		p.ZRemRangeByScore(ctx, s.indexKey(key), "-inf", strconv.FormatInt(now.UnixMilli(), 10))
		p.ZAdd(ctx, s.indexKey(key), redis.Z{Score: float64(expires.UnixMilli()), Member: id})
		p.Expire(ctx, s.indexKey(key), SessionTTL)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("store a session: %w", err)
	}
	return cookie, nil
}

// valid reports whether cookie is a live session. A miss reads the salt
// again, in case another worker made a new one after Redis lost it.
func (s *sessions) valid(ctx context.Context, cookie string) (bool, error) {
	if s == nil || cookie == "" {
		return false, nil
	}
	key, err := s.cachedKey(ctx)
	if err != nil {
		return false, err
	}
	ok, err := s.live(ctx, key, cookie)
	if ok || err != nil {
		return ok, err
	}
	fresh, err := s.loadKey(ctx)
	if err != nil || hmac.Equal(fresh, key) {
		return false, err
	}
	return s.live(ctx, fresh, cookie)
}

func (s *sessions) live(ctx context.Context, key []byte, cookie string) (bool, error) {
	exp, err := s.rdb.HGet(ctx, s.recordKey(s.hash(key, cookie)), "expires").Int64()
	switch {
	case errors.Is(err, redis.Nil):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("read a session: %w", err)
	}
	return s.now().UnixMilli() < exp, nil
}

// end deletes the session of cookie, for every worker.
func (s *sessions) end(ctx context.Context, cookie string) error {
	if s == nil || cookie == "" {
		return nil
	}
	key, err := s.cachedKey(ctx)
	if err != nil {
		return err
	}
	_, err = s.revoke(ctx, key, s.hash(key, cookie))
	return err
}

// Revoke ends the session with handle id (as List shows it).
func (s *sessions) Revoke(ctx context.Context, id string) error {
	key, err := s.cachedKey(ctx)
	if err != nil {
		return err
	}
	n, err := s.revoke(ctx, key, id)
	if err == nil && n == 0 {
		return ErrNoSession
	}
	return err
}

func (s *sessions) revoke(ctx context.Context, key []byte, id string) (int64, error) {
	var del *redis.IntCmd
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		del = p.Del(ctx, s.recordKey(id))
		p.ZRem(ctx, s.indexKey(key), id)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("end a session: %w", err)
	}
	return del.Val(), nil
}

// List returns the live sessions, newest first.
func (s *sessions) List(ctx context.Context) ([]Session, error) {
	key, err := s.cachedKey(ctx)
	if err != nil {
		return nil, err
	}
	now := strconv.FormatInt(s.now().UnixMilli(), 10)
	ids, err := s.rdb.ZRangeByScore(ctx, s.indexKey(key), &redis.ZRangeBy{Min: "(" + now, Max: "+inf"}).Result()
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	cmds := make([]*redis.MapStringStringCmd, len(ids))
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.HGetAll(ctx, s.recordKey(id))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read sessions: %w", err)
	}
	out := make([]Session, 0, len(ids))
	for i, c := range cmds {
		if v := c.Val(); len(v) > 0 {
			out = append(out, Session{ID: ids[i], Client: v["client"], Agent: v["agent"],
				CreatedAt: msTime(v["created"]), ExpiresAt: msTime(v["expires"])})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CreatedAt.After(out[j].CreatedAt) })
	return out, nil
}

func msTime(v string) time.Time {
	ms, _ := strconv.ParseInt(v, 10, 64)
	return time.UnixMilli(ms).UTC()
}
