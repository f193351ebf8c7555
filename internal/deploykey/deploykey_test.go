package deploykey_test

import (
	"context"
	"testing"

	"github.com/rdonboard/rdonboard/internal/deploykey"
	"github.com/rdonboard/rdonboard/internal/redistest"
)

func TestMain(m *testing.M) { redistest.Main(m) }

// TestEveryProcessGetsTheSameKey: two processes (two Keys on one Redis
// key) that load at once end with one secret, the one Redis keeps; another
// Redis key holds another secret.
func TestEveryProcessGetsTheSameKey(t *testing.T) {
	t.Parallel()
	rdb := redistest.DB(t)
	ctx := context.Background()
	a, b := deploykey.New(rdb, "dk:one"), deploykey.New(rdb, "dk:one")
	got := make(chan string, 2)
	for _, k := range []*deploykey.Key{a, b} {
		go func() {
			v, err := k.Load(ctx)
			if err != nil {
				t.Error(err)
			}
			got <- v
		}()
	}
	va, vb := <-got, <-got
	stored, err := rdb.Get(ctx, "dk:one").Result()
	if err != nil {
		t.Fatal(err)
	}
	if va != vb || va != stored || len(stored) != 64 {
		t.Fatalf("keys %q and %q, Redis holds %q: want one secret of 64 hex digits", va, vb, stored)
	}
	other, err := deploykey.New(rdb, "dk:two").Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if other == stored {
		t.Fatal("two Redis keys hold the same secret")
	}
}
