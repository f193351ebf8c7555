// Package reliability holds the tests of the promises rdonboard makes when
// things go wrong: a worker killed mid-batch, Redis restarted or down, the
// cloud unavailable or throttling, hostile input, callers without the
// token, secrets in logs, Redis behind a password and TLS. Each test runs
// the built binaries (worker, enqueue, sandbox) as child processes against
// a redis-server of its own; docs/reliability.md lists what each shows.
package reliability
