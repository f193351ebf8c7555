// Package bench holds the benchmarks of docs/benchmarks.md: ingest speed
// beside asynq's own enqueue ceiling, the producer's peak memory, use of the
// cloud's quotas, the flow's ceiling beside asynq's, the latency from a
// code handed in to its bind, and the Redis memory of a waiting member.
// They run against real redis-servers and the sandbox cloud (`make bench`);
// each reports its figures with b.ReportMetric.
package bench
