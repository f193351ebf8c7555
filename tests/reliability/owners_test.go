package reliability

import (
	"context"
	"time"

	"github.com/rdonboard/rdonboard/internal/simworld"
)

// owners stand in for the people holding the phones (internal/simworld's
// API owners): they read each SMS the sandbox process sent
// (GET /sandbox/sms) and hand its code in through a worker's
// POST /v1/codes, trying again while the intake cannot take it (no
// answer, 503) as a person would.
type owners struct {
	*simworld.APIOwners
}

// startOwners starts answering every SMS through w.
func (r *rig) startOwners(w *workerProc) *owners {
	o := simworld.StartAPIOwners(context.Background(), simworld.APIOwnersParams{
		Source: simworld.OverHTTP(client, r.cloud.URL), Target: w.URL, Token: token,
		RetryUnavailable: true, Poll: 50 * time.Millisecond, Client: client})
	r.t.Cleanup(o.Stop)
	return &owners{o}
}

// Retarget hands the next codes in through w.
func (o *owners) Retarget(w *workerProc) { o.APIOwners.Retarget(w.URL) }
