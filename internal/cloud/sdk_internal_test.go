package cloud

import (
	"context"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth/credentials"

	"github.com/rdonboard/rdonboard/internal/sandbox"
	"github.com/rdonboard/rdonboard/internal/sandbox/sandboxtest"
)

// blockingProvider hands out the sandbox's AccessKey once unblocked, like
// an STS or metadata call that ignores the caller's ctx.
type blockingProvider struct {
	unblock chan struct{}
}

func (p *blockingProvider) GetCredentials() (*credentials.Credentials, error) {
	<-p.unblock
	return &credentials.Credentials{AccessKeyId: sandbox.DefaultAccessKeyID, AccessKeySecret: sandbox.DefaultAccessKeySecret}, nil
}

func (p *blockingProvider) GetProviderName() string { return "blocking" }

// TestAbandonedCallKeepsItsClientUntilItEnds: a call stuck where ctx cannot
// reach (credentials) returns promptly on ctx, and its SDK client goes back
// to the pool only when the stuck call has ended.
func TestAbandonedCallKeepsItsClientUntilItEnds(t *testing.T) {
	t.Parallel()
	sb, srv := sandboxtest.Start(t, sandbox.Options{})
	p := &blockingProvider{unblock: make(chan struct{})}
	c, err := newSDK(Config{Endpoint: srv.URL, Pool: 1}.withDefaults(), p)
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = c.GetAccount(ctx, "1386606283481234")
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("abandoned call returned after %v", took)
	}
	// No request left: transient, not unknown.
	if e, ok := AsError(err); !ok || e.Kind != KindTransient || e.Code != CodeTimeout {
		t.Fatalf("got %v, want a transient timeout", err)
	}
	if n := len(c.pool); n != 0 {
		t.Fatalf("%d clients in the pool while the abandoned call runs, want 0", n)
	}

	close(p.unblock)
	if _, err := c.GetAccount(context.Background(), "1386606283481234"); err != nil {
		t.Fatalf("after the stuck call ended: %v", err)
	}
	// The abandoned call, unblocked after its ctx ended, sent nothing.
	if got := sb.Stats().Calls[ActionGetAccount]; len(got) != 1 || got["ok"] != 1 {
		t.Errorf("the sandbox saw %v, want one GetAccount", got)
	}
}
