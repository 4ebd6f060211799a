package keyvault

import (
	"net/http"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/akvvm/akvvm/internal/transport"
)

// MaxResponseSize is the largest response body akvvm reads from Key Vault:
// a secret value, a page of versions or an error. Key Vault stores at most
// 25 KB per secret value, so 1 MiB is ample, and it keeps a hostile or
// broken vault from making the agent hold hundreds of megabytes. The limit
// applies while the body is read, so a larger answer is refused after 1 MiB,
// and at once when its Content-Length says so.
const MaxResponseSize = 1 << 20

// limitService says, in a TooLargeError, what the limit is for.
const limitService = "Key Vault (a secret value is at most 25 KB)"

// limitedTransporter bounds every response body to MaxResponseSize; it sits
// below azcore's pipeline, which reads the whole body before any policy
// sees the response.
type limitedTransporter struct{ next policy.Transporter }

func (t limitedTransporter) Do(req *http.Request) (*http.Response, error) {
	resp, err := t.next.Do(req)
	if err != nil {
		return nil, err // a refused redirect comes back with its response; azcore wants none
	}
	if err := transport.LimitBody(resp, MaxResponseSize, limitService); err != nil {
		return nil, err
	}
	return resp, nil
}
