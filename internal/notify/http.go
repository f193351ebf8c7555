package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// httpTimeout bounds one call to a webhook or robot.
const httpTimeout = 10 * time.Second

// poster sends JSON bodies to one URL.
type poster struct {
	client *http.Client
}

func newPoster(c *http.Client) poster {
	if c == nil {
		c = &http.Client{Timeout: httpTimeout}
	}
	return poster{client: c}
}

// post sends body to target and decodes a JSON answer into answer (when
// non-nil). A transport failure or a 5xx is an error worth retrying; the
// error never shows the URL, whose query or path holds the robot's key.
func (p poster) post(ctx context.Context, channel, target string, body []byte, header http.Header, answer any) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("%s: build request: %w", channel, redactURL(err))
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", channel, redactURL(err))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return resp.StatusCode, fmt.Errorf("%s: read answer: %w", channel, err)
	}
	if resp.StatusCode >= 500 {
		return resp.StatusCode, fmt.Errorf("%s: HTTP %d", channel, resp.StatusCode)
	}
	if answer != nil && resp.StatusCode != http.StatusTooManyRequests {
		if err := json.Unmarshal(raw, answer); err != nil {
			return resp.StatusCode, fmt.Errorf("%s: HTTP %d, answer not JSON: %w", channel, resp.StatusCode, err)
		}
	}
	return resp.StatusCode, nil
}

// postJSON encodes v and posts it as post does, with no extra header.
func (p poster) postJSON(ctx context.Context, channel, target string, v, answer any) (int, error) {
	body, err := json.Marshal(v)
	if err != nil {
		return 0, fmt.Errorf("%s: encode message: %w", channel, err)
	}
	return p.post(ctx, channel, target, body, nil, answer)
}

// redactURL drops the URL from a *url.Error: robot keys live in it.
func redactURL(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}
