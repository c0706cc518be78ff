/** RDS IAM auth tokens are valid for 15 minutes from signing. */
export const TOKEN_LIFETIME_MS = 15 * 60_000;
/** Re-sign this long before expiry so a token never dies between signing and the server checking it. */
export const TOKEN_REFRESH_MARGIN_MS = 2 * 60_000;

export interface TokenSigner {
  getAuthToken(): Promise<string>;
}

/**
 * One token per execution environment, re-signed shortly before it expires or when the server
 * rejected it; concurrent callers share a signing in flight.
 */
export class TokenCache {
  private token: string | undefined;
  private expiresAt = 0;
  private signing: Promise<string> | undefined;
  /** How many tokens were signed (for benchmarks and tests). */
  signings = 0;

  constructor(
    private readonly signer: TokenSigner,
    private readonly now: () => number = Date.now,
  ) {}

  async get(): Promise<string> {
    if (this.token !== undefined && this.now() < this.expiresAt - TOKEN_REFRESH_MARGIN_MS) return this.token;
    this.signing ??= this.sign().finally(() => (this.signing = undefined));
    return this.signing;
  }

  /** Forget the current token, e.g. after the server refused it. */
  invalidate(): void {
    this.token = undefined;
    this.expiresAt = 0;
  }

  private async sign(): Promise<string> {
    const signedAt = this.now();
    const token = await this.signer.getAuthToken();
    this.signings++;
    this.token = token;
    this.expiresAt = signedAt + TOKEN_LIFETIME_MS;
    return token;
  }
}
