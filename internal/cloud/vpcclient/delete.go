package vpcclient

import "context"

// DeleteVpnGateway asks for the gateway id in region to be deleted and
// returns the API's request id. clientToken makes the call idempotent:
// every retry, and every redelivery of the same delete request, sends the
// same one, so the API deletes once. The gateway goes to "deleting" and is
// gone once DescribeVpnGateways no longer reports it.
func (c *Client) DeleteVpnGateway(ctx context.Context, region, id, clientToken string) (string, error) {
	p := map[string]string{"VpnGatewayId": id, "ClientToken": clientToken}
	var out struct{ RequestId string }
	if err := c.call(ctx, region, ActionDeleteVpnGateway, p, &out); err != nil {
		return "", err
	}
	return out.RequestId, nil
}
