import { TOKEN_LIFETIME_MS, TOKEN_REFRESH_MARGIN_MS, TokenCache } from "../../functions/shared/token";

function countingSigner() {
  let issued = 0;
  return { getAuthToken: async () => `token-${++issued}` };
}

describe("TokenCache", () => {
  it("signs once and serves the same token until shortly before it expires", async () => {
    let now = 1_000_000;
    const cache = new TokenCache(countingSigner(), () => now);
    expect(await cache.get()).toBe("token-1");
    now += TOKEN_LIFETIME_MS - TOKEN_REFRESH_MARGIN_MS - 1;
    expect(await cache.get()).toBe("token-1");
    now += 1;
    expect(await cache.get()).toBe("token-2");
    expect(cache.signings).toBe(2);
  });

  it("never hands out a token in the last minute of its life: it is re-signed before the server could refuse it", async () => {
    let now = 1_000_000;
    const signedAt = new Map<string, number>();
    const signer = {
      getAuthToken: async () => {
        const token = `token-${signedAt.size + 1}`;
        signedAt.set(token, now);
        return token;
      },
    };
    const cache = new TokenCache(signer, () => now);
    for (const end = now + 2 * TOKEN_LIFETIME_MS; now < end; now += 5_000) {
      const token = await cache.get();
      expect(signedAt.get(token)! + TOKEN_LIFETIME_MS - now).toBeGreaterThanOrEqual(60_000);
    }
    expect(cache.signings).toBeGreaterThanOrEqual(2);
    expect(cache.signings).toBeLessThanOrEqual(3);
  });

  it("shares one signing among concurrent callers", async () => {
    const cache = new TokenCache(countingSigner());
    expect(new Set(await Promise.all(Array.from({ length: 50 }, () => cache.get())))).toEqual(new Set(["token-1"]));
    expect(cache.signings).toBe(1);
  });

  it("re-signs after being invalidated", async () => {
    const cache = new TokenCache(countingSigner());
    await cache.get();
    cache.invalidate();
    expect(await cache.get()).toBe("token-2");
  });

  it("lets a failed signing be retried", async () => {
    let fail = true;
    const cache = new TokenCache({ getAuthToken: async () => (fail ? Promise.reject(new Error("no credentials")) : "token") });
    await expect(cache.get()).rejects.toThrow("no credentials");
    fail = false;
    expect(await cache.get()).toBe("token");
  });
});
