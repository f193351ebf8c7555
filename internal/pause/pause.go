// Package pause owns the stop button of the flow: when the cloud refuses the
// caller itself (credentials, RAM policy, site, enterprise verification),
// every member would fail alike, so the queues that call the cloud are
// paused once, the reason is recorded for `worker status`, and they stay
// paused until the operator runs `enqueue resume`.
package pause

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// Reason is why the queues were paused.
type Reason struct {
	Action    string    `json:"action"`
	Code      string    `json:"code"`
	Message   string    `json:"message"`
	RequestID string    `json:"request_id,omitempty"`
	Remedy    string    `json:"remedy"`
	At        time.Time `json:"at"`
}

// Controller pauses and resumes the cloud queues.
type Controller struct {
	rdb    redis.UniversalClient
	insp   *asynq.Inspector
	key    string
	queues []string
}

// New returns a controller of queues, keeping its record under
// prefix+"pause".
func New(rdb redis.UniversalClient, prefix string, queues []string) *Controller {
	return &Controller{rdb: rdb, insp: asynq.NewInspectorFromRedisClient(rdb), key: prefix + "pause", queues: queues}
}

// Pause records r unless a pause is already recorded and pauses the queues.
// first is true for the call that recorded it: that caller tells the
// operator, the others stay quiet.
func (c *Controller) Pause(ctx context.Context, r Reason) (first bool, err error) {
	doc, err := json.Marshal(r)
	if err != nil {
		return false, err
	}
	first, err = c.rdb.SetNX(ctx, c.key, doc, 0).Result()
	if err != nil {
		return false, fmt.Errorf("record pause: %w", err)
	}
	for _, q := range c.queues {
		if err := c.insp.PauseQueue(q); err != nil && !strings.Contains(err.Error(), "already paused") {
			return first, fmt.Errorf("pause queue %s: %w", q, err)
		}
	}
	return first, nil
}

// Resume unpauses the queues, runs at once the tasks put back while they
// were paused, and forgets the pause; it returns the reason that was
// recorded, or nil if none was.
func (c *Controller) Resume(ctx context.Context) (*Reason, error) {
	r, err := c.Current(ctx)
	if err != nil {
		return nil, err
	}
	for _, q := range c.queues {
		if err := c.insp.UnpauseQueue(q); err != nil && !strings.Contains(err.Error(), "not paused") {
			return r, fmt.Errorf("resume queue %s: %w", q, err)
		}
		// A queue nothing was ever enqueued to does not exist yet.
		if _, err := c.insp.RunAllRetryTasks(q); err != nil && !strings.Contains(err.Error(), "does not exist") {
			return r, fmt.Errorf("run waiting tasks of %s: %w", q, err)
		}
	}
	if err := c.rdb.Del(ctx, c.key).Err(); err != nil {
		return r, fmt.Errorf("forget pause: %w", err)
	}
	return r, nil
}

// Current returns the recorded pause, or nil when the queues run.
func (c *Controller) Current(ctx context.Context) (*Reason, error) {
	doc, err := c.rdb.Get(ctx, c.key).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read pause: %w", err)
	}
	var r Reason
	if err := json.Unmarshal(doc, &r); err != nil {
		return nil, fmt.Errorf("read pause: %w", err)
	}
	return &r, nil
}
