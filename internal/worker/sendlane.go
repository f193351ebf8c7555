package worker

import (
	"context"
	"errors"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/rdonboard/rdonboard/internal/flow"
	"github.com/rdonboard/rdonboard/tasks"
)

// sendLaneQueues are the send lane's queues: in strict priority, a send
// that carries on a phone's turn or a member's flow goes before the first
// sends still waiting, so a phone with many members is not held back
// behind the first SMS of every other phone.
var sendLaneQueues = map[string]int{tasks.QueueSendNext: 2, tasks.QueueSend: 1}

// A send's step can have a copy on each send queue (task IDs are unique
// within a queue only): a phone's turn handed on to a member whose first
// send is still queued, or a roster enqueued again while a member waits
// for its phone's gap. One copy runs at a time and the send_next copy is
// the one that sends.
const (
	// sendClaimTTL outlives any run of a send handler (3 minutes at most).
	sendClaimTTL = 5 * time.Minute
	// sendClaimWait is how long a send_next copy waits for a send copy
	// that is running to end.
	sendClaimWait = time.Second
)

// errOtherCopy puts back a send whose other copy is running.
var errOtherCopy = errors.New("the other copy of this send is running")

// releaseSendClaim drops the claim KEYS[1] if ARGV[1] (a queue) holds it.
var releaseSendClaim = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`)

// sendLane wraps the send lane's handler so that of the two copies of a
// send only one runs: a copy on send whose step has a copy waiting on
// send_next is dropped at once; otherwise each run claims the send in
// Redis (prefix + "sc:" + task ID, holding its queue) for as long as it
// runs. A send copy finding the claim held by the send_next copy is
// dropped; a send_next copy finding it held by the send copy comes back
// in a second (by then the member has its code, or the turn is free). A
// run finding its own queue's claim is the redelivery of a copy whose
// worker died, and goes on. An archived copy does not count: it sends
// nothing until it is put back.
type sendLane struct {
	rdb    redis.UniversalClient
	insp   *asynq.Inspector
	prefix string
	next   asynq.Handler
}

func newSendLane(rdb redis.UniversalClient, prefix string, next asynq.Handler) *sendLane {
	return &sendLane{rdb: rdb, insp: asynq.NewInspectorFromRedisClient(rdb), prefix: prefix, next: next}
}

func (l *sendLane) ProcessTask(ctx context.Context, t *asynq.Task) error {
	queue, _ := asynq.GetQueueName(ctx)
	id, _ := asynq.GetTaskID(ctx)
	if t.Type() != tasks.TypeSendCode || id == "" {
		return l.next.ProcessTask(ctx, t)
	}
	if queue == tasks.QueueSend && l.nextCopyWaits(id) {
		return nil
	}
	key := l.prefix + "sc:" + id
	claimed, err := l.rdb.SetNX(ctx, key, queue, sendClaimTTL).Result()
	if err != nil {
		return err
	}
	if !claimed {
		holder, err := l.rdb.Get(ctx, key).Result()
		switch {
		case errors.Is(err, redis.Nil):
			// Released just now: try again shortly.
			return flow.Snooze(sendClaimWait, errOtherCopy)
		case err != nil:
			return err
		case holder != queue && queue == tasks.QueueSend:
			return nil
		case holder != queue:
			return flow.Snooze(sendClaimWait, errOtherCopy)
		}
	}
	defer releaseSendClaim.Run(context.WithoutCancel(ctx), l.rdb, []string{key}, queue)
	return l.next.ProcessTask(ctx, t)
}

// nextCopyWaits reports whether send task id has a copy on send_next that
// will run (pending, scheduled, retrying or running).
func (l *sendLane) nextCopyWaits(id string) bool {
	info, err := l.insp.GetTaskInfo(tasks.QueueSendNext, id)
	return err == nil && info.State != asynq.TaskStateArchived && info.State != asynq.TaskStateCompleted
}
