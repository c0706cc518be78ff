/**
 * The AWS calls the provider makes while planning, answered on localhost: STS GetCallerIdentity
 * (the account is the digits of the access key, so one stub serves every environment), EC2
 * DescribeAvailabilityZones (zones a, b, c of the region the request was signed for), and API Gateway
 * v2 GetApis (no API yet: what a state stack's lookup of its service's HTTP API finds before the first
 * deploy). Anything else is answered 400 with the action named, so a plan that needs more fails saying what.
 */
import { type Server, createServer } from "node:http";
import type { AddressInfo } from "node:net";

/** The access key that makes the stub answer for `accountId`. */
export const stubAccessKey = (accountId: string) => `STUB${accountId}`;

/** What the Authorization header was signed with: `Credential=<key>/<date>/<region>/<service>/aws4_request`. */
function credentialOf(authorization: string | undefined): { account: string; region: string } {
  const [, key = "", region = "us-east-1"] = /Credential=([^/]+)\/[^/]+\/([^/]+)\//.exec(authorization ?? "") ?? [];
  return { account: /(\d{12})$/.exec(key)?.[1] ?? "000000000000", region };
}

const zones = (region: string) =>
  ["a", "b", "c"]
    .map(
      (letter, index) =>
        `<item><zoneName>${region}${letter}</zoneName><zoneState>available</zoneState><regionName>${region}</regionName>` +
        `<zoneId>${region.replace(/-/g, "")}-az${index + 1}</zoneId><zoneType>availability-zone</zoneType><groupName>${region}</groupName>` +
        `<networkBorderGroup>${region}</networkBorderGroup><optInStatus>opt-in-not-required</optInStatus></item>`,
    )
    .join("");

/** The XML answer to one query-protocol request, or undefined for an action the stub does not know. */
export function answer(action: string, account: string, region: string): string | undefined {
  if (action === "GetCallerIdentity")
    return `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>arn:aws:iam::${account}:user/plan-stub</Arn><UserId>AIDAPLANSTUB</UserId><Account>${account}</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>plan-stub</RequestId></ResponseMetadata></GetCallerIdentityResponse>`;
  if (action === "DescribeAvailabilityZones")
    return `<DescribeAvailabilityZonesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>plan-stub</requestId><availabilityZoneInfo>${zones(region)}</availabilityZoneInfo></DescribeAvailabilityZonesResponse>`;
  return undefined;
}

/** Starts the stub on a free port of 127.0.0.1; its URL is the endpoint of both services. */
export async function startAwsStub(): Promise<{ url: string; server: Server }> {
  const server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk) => (body += chunk));
    request.on("end", () => {
      // API Gateway v2 speaks REST and JSON rather than the query protocol.
      if (request.method === "GET" && request.url?.startsWith("/v2/apis")) {
        response.writeHead(200, { "Content-Type": "application/json" });
        response.end(JSON.stringify({ items: [] }));
        return;
      }
      const action = new URLSearchParams(body).get("Action") ?? "";
      const { account, region } = credentialOf(request.headers.authorization);
      const xml = answer(action, account, region);
      response.writeHead(xml ? 200 : 400, { "Content-Type": "text/xml" });
      response.end(
        xml ??
          `<ErrorResponse><Error><Code>NotStubbed</Code><Message>the plan stub does not answer ${action}</Message></Error></ErrorResponse>`,
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}
