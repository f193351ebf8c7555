package cloud

import (
	"fmt"
	"sync"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth/credentials"
)

// newCredentials builds the one credentials provider every pooled client
// shares, so an STS session is assumed once, not once per client.
func newCredentials(c Config) (credentials.CredentialsProvider, error) {
	switch {
	case c.RoleARN != "":
		p, err := roleProvider(c)
		if err != nil {
			return nil, fmt.Errorf("RAM role %s: %w", c.RoleARN, err)
		}
		return &sharedProvider{inner: p}, nil
	case c.SecurityToken != "":
		return credentials.NewStaticSTSCredentialsProvider(c.AccessKeyID, c.AccessKeySecret, c.SecurityToken), nil
	case c.AccessKeyID != "":
		return credentials.NewStaticAKCredentialsProvider(c.AccessKeyID, c.AccessKeySecret), nil
	}
	return newDefaultChain(), nil
}

// roleProvider assumes c.RoleARN with the AccessKey, or with the default
// chain when no AccessKey is given.
func roleProvider(c Config) (credentials.CredentialsProvider, error) {
	b := credentials.NewRAMRoleARNCredentialsProviderBuilder().
		WithRoleArn(c.RoleARN).
		WithRoleSessionName(c.RoleSessionName)
	switch {
	case c.AccessKeyID != "":
		b = b.WithAccessKeyId(c.AccessKeyID).WithAccessKeySecret(c.AccessKeySecret).
			WithSecurityToken(c.SecurityToken)
	default:
		b = b.WithCredentialsProvider(newDefaultChain())
	}
	return b.Build()
}

// newDefaultChain is the SDK's default chain, made safe for the pool and
// rebuilt after a failure: the SDK's chain otherwise sticks to the last
// provider it tried, so credentials set after a first failure would never
// be found.
func newDefaultChain() *sharedProvider {
	build := func() credentials.CredentialsProvider {
		return credentials.NewDefaultCredentialsProvider()
	}
	return &sharedProvider{inner: build(), rebuild: build}
}

// sharedProvider serialises a provider that is not safe for concurrent use
// (the default chain and the RAM role provider both write their cache
// unguarded).
type sharedProvider struct {
	mu      sync.Mutex
	inner   credentials.CredentialsProvider
	rebuild func() credentials.CredentialsProvider
}

// GetCredentials returns the inner provider's credentials.
func (p *sharedProvider) GetCredentials() (*credentials.Credentials, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	cc, err := p.inner.GetCredentials()
	if err != nil && p.rebuild != nil {
		p.inner = p.rebuild()
	}
	return cc, err
}

// GetProviderName names the inner provider.
func (p *sharedProvider) GetProviderName() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.inner.GetProviderName()
}
