package worker

import (
	"context"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/rdonboard/rdonboard/tasks"
)

// sendLaneQueues are the send lane's queues: in strict priority, a send
// that carries on a phone's turn or a member's flow goes before the first
// sends still waiting, so a phone with many members is not held back
// behind the first SMS of every other phone.
var sendLaneQueues = map[string]int{tasks.QueueSendNext: 2, tasks.QueueSend: 1}

// yieldToNext wraps the send lane's handler: a send on QueueSend whose
// step has a copy on QueueSendNext is dropped, and the copy sends. Two
// copies come about when a phone's turn is handed on to a member whose
// first send is still queued, or a roster is enqueued again while a
// member waits for its phone's gap; task IDs are unique within a queue
// only. An archived copy does not count: it sends nothing until it is put
// back.
func yieldToNext(rdb redis.UniversalClient, next asynq.Handler) asynq.Handler {
	insp := asynq.NewInspectorFromRedisClient(rdb)
	return asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
		if q, _ := asynq.GetQueueName(ctx); t.Type() == tasks.TypeSendCode && q == tasks.QueueSend {
			id, _ := asynq.GetTaskID(ctx)
			info, err := insp.GetTaskInfo(tasks.QueueSendNext, id)
			if err == nil && info.State != asynq.TaskStateArchived && info.State != asynq.TaskStateCompleted {
				return nil
			}
		}
		return next.ProcessTask(ctx, t)
	})
}
