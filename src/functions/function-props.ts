/** What a function's HTTPS egress may reach: gateway endpoints by prefix list, or the internet through the NAT. */
export const HTTPS_DESTINATIONS = ["s3", "dynamodb", "internet"] as const;
export type HttpsDestination = (typeof HTTPS_DESTINATIONS)[number];
