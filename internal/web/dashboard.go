package web

import (
	"net/http"
	"unicode/utf8"

	"github.com/hibiken/asynq"
	"github.com/hibiken/asynqmon"

	"github.com/rdonboard/rdonboard/tasks"
)

// DashboardRoot is where the queue dashboard is served.
const DashboardRoot = "/monitoring"

// newDashboard returns asynqmon over conn, read-only unless writable, with
// verification codes hidden from every payload it shows.
func newDashboard(conn asynq.RedisConnOpt, writable bool) *asynqmon.HTTPHandler {
	return asynqmon.New(asynqmon.Options{
		RootPath:         DashboardRoot,
		RedisConnOpt:     conn,
		ReadOnly:         !writable,
		PayloadFormatter: asynqmon.PayloadFormatterFunc(redactedPayload),
	})
}

func redactedPayload(typ string, payload []byte) string {
	b := tasks.Redacted(typ, payload)
	if !utf8.Valid(b) {
		return "non-printable bytes"
	}
	return string(b)
}

// dashboard is asynqmon, or 503 when it has no connection.
func (s *Site) dashboard() http.Handler {
	if s.dash == nil {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			deny(w, r, http.StatusServiceUnavailable, "the queue dashboard has no Redis connection; see the worker's log")
		})
	}
	return s.dash
}
