package worker

// addWeb adds the web surface: the queue dashboard, the status page, the
// self-service code page and the collectors behind /metrics.
func (p *parts) addWeb() {}
